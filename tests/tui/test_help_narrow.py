"""The help screen in a small pane keeps what each key does (the binding ids go first)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from imagen_tui.tui.screens.help import HelpScreen
from tests.tui.workbench_helpers import drive, make_app


def rows_of(pilot: Pilot[Any]) -> tuple[int, set[tuple[str, str]]]:
    table = pilot.app.screen.query_one("#help-table").content
    cells = zip(table.columns[0]._cells, table.columns[1]._cells, strict=True)
    return len(table.columns), {(str(k), str(a)) for k, a in cells}


def test_help_at_40_columns_shows_actions_not_ids(tmp_path: Path) -> None:
    """Seen in a 40x12 tmux pane: keys and ids only, the action column squeezed to nothing."""
    app, _ = make_app(tmp_path)

    async def steps(pilot: Pilot[Any]) -> None:
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        columns, rows = rows_of(pilot)
        assert columns == 2 and ("ctrl+g", "Generate") in rows
        assert "Editor" in app.export_screenshot()  # f2's action drawn, not squeezed away

    drive(app, steps, size=(40, 12))


def test_help_in_a_wide_pane_names_the_binding_ids(tmp_path: Path) -> None:
    app, _ = make_app(tmp_path)

    async def steps(pilot: Pilot[Any]) -> None:
        await pilot.press("f1")
        assert rows_of(pilot)[0] == 3

    drive(app, steps)
