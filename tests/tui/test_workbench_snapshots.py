"""Snapshots of the workbench (pytest-textual-snapshot) over the fake engine, with fixed clocks.

Update with `pytest tests/tui/test_workbench_snapshots.py --snapshot-update` and look at the SVGs.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from imagen_tui.backends import EventKind, JobState
from tests.tui.workbench_helpers import make_app, settle, wait_for

T0 = 1_790_000_000.0


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> None:
    """History dates are local times: pin the zone so snapshots match everywhere."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()


def ready(extra: Any = None) -> Any:
    async def run_before(pilot: Pilot[Any]) -> None:
        app = pilot.app
        await wait_for(pilot, lambda: app.started)
        editor = app.screen.query_one("#editor")
        await wait_for(pilot, lambda: editor.ready.is_set())
        app.screen.query_one("#prompt").cursor_blink = False
        if extra is not None:
            await extra(pilot)
        await settle(pilot)
        await pilot.pause(0.1)

    return run_before


def test_main_screen_80x24(snap_compare: Any, tmp_path: Path) -> None:
    app, _ = make_app(tmp_path, images=40)
    assert snap_compare(app, terminal_size=(80, 24), run_before=ready())


def test_main_screen_160x48(snap_compare: Any, tmp_path: Path) -> None:
    app, _ = make_app(tmp_path, images=40)

    async def browse(pilot: Pilot[Any]) -> None:
        await pilot.press("f4", "j", "j")

    assert snap_compare(app, terminal_size=(160, 48), run_before=ready(browse))


def test_help_screen(snap_compare: Any, tmp_path: Path) -> None:
    app, _ = make_app(tmp_path)
    assert snap_compare(app, press=["f1"], terminal_size=(100, 40), run_before=ready())


def test_failed_job(snap_compare: Any, tmp_path: Path) -> None:
    app, engine = make_app(tmp_path, images=3)

    async def fail(pilot: Pilot[Any]) -> None:
        pilot.app.screen.query_one("#prompt").load_text("a lighthouse in a storm")
        await pilot.press("ctrl+g")
        await settle(pilot)
        (job,) = engine.local.values()
        job.created_at = T0
        engine.set_state(job.id, EventKind.STARTED, state=JobState.RUNNING, started_at=T0)
        engine.set_state(
            job.id, EventKind.FAILED, state=JobState.FAILED, finished_at=T0 + 3.5,
            error_code="quota_exhausted",
            error_message="out of quota or credit: top up, or use another backend",
        )  # fmt: skip
        pilot.app.clear_notifications()
        await pilot.press("f3")

    assert snap_compare(app, terminal_size=(120, 30), run_before=ready(fail))


def test_empty_history(snap_compare: Any, tmp_path: Path) -> None:
    app, _ = make_app(tmp_path)
    assert snap_compare(app, press=["f4"], terminal_size=(100, 30), run_before=ready())


def test_light_theme(snap_compare: Any, tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    (state / "workbench.json").write_text('{"theme": "imagen-light"}')
    app, _ = make_app(tmp_path, images=12)
    assert app.theme == "imagen-light"
    assert snap_compare(app, terminal_size=(120, 32), run_before=ready())
