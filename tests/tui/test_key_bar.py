"""The key bar: every key when they fit; otherwise those that fit, `…` and the help key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from imagen_tui.tui.widgets.key_bar import KeyBar
from tests.tui.workbench_helpers import drive, make_app, settle


def bar_text(pilot: Pilot[Any]) -> str:
    return str(pilot.app.screen.query_one(KeyBar).render())


@pytest.mark.parametrize("width", [80, 120, 160])
def test_history_keys_that_do_not_fit_leave_the_help_key_last(tmp_path: Path, width: int) -> None:
    app, _ = make_app(tmp_path, images=2)

    async def steps(pilot: Pilot[Any]) -> None:
        await pilot.press("f4")
        await settle(pilot)
        text = bar_text(pilot).rstrip()
        assert len(text) <= width
        assert text.endswith("Help"), text
        assert "…" in text  # the history pane has more keys than any of these widths holds

    drive(app, steps, size=(width, 40))


def test_keys_that_fit_keep_their_order(tmp_path: Path) -> None:
    app, _ = make_app(tmp_path, images=2)

    async def steps(pilot: Pilot[Any]) -> None:
        await pilot.press("f4")
        await settle(pilot)
        text = bar_text(pilot)
        assert "…" not in text
        assert text.index("Search") < text.index("Help")

    drive(app, steps, size=(400, 40))
