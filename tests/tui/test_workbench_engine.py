"""The workbench over the real engine (mock backend): generate, browse, bad files, bad text."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from PIL import Image
from textual.pilot import Pilot

from imagen_tui.backends import Engine
from imagen_tui.tui.app import WorkbenchApp
from imagen_tui.tui.widgets.history_list import HistoryList
from imagen_tui.tui.widgets.job_list import JobList
from tests.tui.workbench_helpers import drive, settle, type_text, wait_for


def real_app(tmp_path: Path, extra: str = "") -> tuple[WorkbenchApp, Path]:
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    cfg = tmp_path / "config.toml"
    cfg.write_text(
        f'default_backend = "mock"\n[output]\ndir = "{out}"\n'
        '[backends.slow]\ntype = "mock"\nlatency_s = 0.4\nsteps = 4\n' + extra
    )
    engine = Engine.open(cfg)
    app = WorkbenchApp(
        engine,
        renderer="halfcell",
        state_folder=tmp_path / "state",
        user_theme_folder=tmp_path / "themes",
        watch=True,
        poll_interval=0.2,
        env={},
    )
    return app, out


def hlist(pilot: Pilot[Any]) -> HistoryList:
    return pilot.app.screen.query_one(HistoryList)


def test_generate_watch_it_finish_and_find_it_in_history(tmp_path: Path) -> None:
    app, out = real_app(tmp_path)

    async def steps(pilot: Pilot[Any]) -> None:
        jobs = app.screen.query_one(JobList)
        await type_text(pilot, "a red fox")
        await pilot.press("ctrl+g")
        await wait_for(pilot, lambda: bool(jobs.order))
        job_id = jobs.order[0]
        await wait_for(pilot, lambda: jobs.state_of(job_id) == "done", tries=250)
        await wait_for(pilot, lambda: hlist(pilot).count == 1, tries=250)
        await pilot.press("f4")
        await wait_for(pilot, lambda: app.screen.query_one("#preview").image is not None)
        assert hlist(pilot).current_row().prompt == "a red fox"
        meta = str(app.screen.query_one("#metadata").content)
        assert "prompt: a red fox" in meta and "backend: mock" in meta

    drive(app, steps)


def test_corrupt_png_and_unreadable_sidecar_are_shown_as_such(tmp_path: Path) -> None:
    app, out = real_app(tmp_path)
    good = out / "good.png"
    Image.new("RGB", (64, 64), (10, 200, 10)).save(good)
    good.with_suffix(".json").write_text("{not json")
    bad = out / "corrupt.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)

    async def steps(pilot: Pilot[Any]) -> None:
        app.engine.history.reindex()  # type: ignore[attr-defined]
        app.screen.query_one("#history").store_changed()
        await wait_for(pilot, lambda: hlist(pilot).count == 2)
        await pilot.press("f4")
        seen = {}
        pane = app.screen.query_one("#history")
        for _ in range(2):
            await wait_for(pilot, lambda: Path(hlist(pilot).current_row().path) in pane._thumbs)
            preview = app.screen.query_one("#preview")
            name = Path(hlist(pilot).current_row().path).name
            meta = str(app.screen.query_one("#metadata").content)
            seen[name] = (preview.image, preview.notice, meta)
            await pilot.press("j")
        image, notice, _meta = seen["corrupt.png"]
        assert image is None and notice.startswith("Cannot show corrupt.png")
        image, _notice, meta = seen["good.png"]
        assert image is not None and "file: good.png" in meta
        assert meta.startswith("sidecar unreadable: not valid JSON (Expecting property name")

    drive(app, steps)


def test_an_image_made_by_another_process_appears_keeping_the_selection(tmp_path: Path) -> None:
    app, out = real_app(tmp_path)

    async def steps(pilot: Pilot[Any]) -> None:
        history = app.engine.history  # type: ignore[attr-defined]
        for colour in ((200, 0, 0), (0, 200, 0)):
            path = out / f"seed-{colour[0]}.png"
            Image.new("RGB", (64, 64), colour).save(path)
        history.reindex()
        app.screen.query_one("#history").store_changed()
        await wait_for(pilot, lambda: hlist(pilot).count == 2)
        await pilot.press("f4", "j")
        selected = Path(hlist(pilot).current_row().path)
        start = time.monotonic()
        argv = [sys.executable, "-m", "imagen_tui.tui.cli", "--once", "from another pane",
                "--size", "64x64", "-q", "--config", str(tmp_path / "config.toml")]  # fmt: skip
        done = await asyncio.to_thread(
            subprocess.run, argv, capture_output=True, text=True, timeout=60, check=False
        )
        assert done.returncode == 0, done.stderr
        await wait_for(pilot, lambda: hlist(pilot).count == 3, tries=250)
        assert time.monotonic() - start < 10  # bounded wait, not a timing claim
        assert Path(hlist(pilot).current_row().path) == selected
        assert hlist(pilot).cursor == 2

    drive(app, steps)


def test_prompt_full_of_control_characters_is_drawn_inert(tmp_path: Path) -> None:
    app, out = real_app(tmp_path)
    evil = "fox \x1b[2J\x1b]52;c;AAAA\x07 \u202eevil \x9b31m"

    async def steps(pilot: Pilot[Any]) -> None:
        app.screen.query_one("#prompt").load_text(evil)
        await pilot.press("ctrl+g")
        jobs = app.screen.query_one(JobList)
        await wait_for(pilot, lambda: bool(jobs.order))
        await wait_for(pilot, lambda: hlist(pilot).count == 1, tries=250)
        await pilot.press("f4")
        await settle(pilot)
        screen_text = "\n".join(
            "".join(seg.text for seg in strip)
            for strip in app.screen._compositor.render_full_update().strips
        )
        for raw in ("\x1b", "\x07", "\u202e", "\x9b"):
            assert raw not in screen_text
        assert "fox" in screen_text

    drive(app, steps)


def test_a_40x12_pane_degrades_without_errors(tmp_path: Path) -> None:
    app, out = real_app(tmp_path)

    async def steps(pilot: Pilot[Any]) -> None:
        await type_text(pilot, "tiny")
        await pilot.press("ctrl+g", "f3", "f4", "f1", "escape", "f2")
        await settle(pilot)
        await pilot.resize_terminal(30, 8)
        await settle(pilot)
        await pilot.resize_terminal(80, 24)
        await settle(pilot)

    drive(app, steps, size=(40, 12))
    assert app.return_code is None or app.return_code == 0
