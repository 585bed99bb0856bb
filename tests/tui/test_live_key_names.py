"""Every key the workbench names (placeholders, titles, empty states, notifications, help) is the
live one: remapped in `[keys]`, the text follows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from imagen_tui.tui.screens.help import HelpScreen
from imagen_tui.tui.screens.main import MainScreen
from tests.tui.fake_engine import FakeEngine
from tests.tui.workbench_helpers import drive, make_app, notes, settle, wait_for

REMAP = {
    "generate": "f5",
    "help": "f12",
    "focus_editor": "f6",
    "focus_jobs": "f7",
    "focus_history": "f8",
    "history.restore": "U",
    "history.trash_view": "T",
    "history.reference": "ctrl+r",
}
DEFAULTS = ("ctrl+g", "f1", "f2", "f3", "f4", "(u ", "(t ", "(E ")


def texts(app: Any) -> dict[str, str]:
    screen = app.main
    return {
        "prompt": screen.query_one("#prompt").placeholder,
        "refs": screen.query_one("#references").placeholder,
        "titles": " ".join(
            str(screen.query_one(f"#{p}").border_title)
            for p in ("editor-pane", "jobs-pane", "history-pane")
        ),  # fmt: skip
        "jobs": str(screen.query_one("#job-detail").content),
        "history": str(screen.query_one("#metadata").content),
    }


def test_remapped_keys_are_the_ones_every_text_names(tmp_path: Path) -> None:
    folder = tmp_path / "images"
    folder.mkdir()
    engine = FakeEngine(folder, keys=REMAP)
    app, _ = make_app(tmp_path, engine=engine)

    async def steps(pilot: Pilot[Any]) -> None:
        await wait_for(pilot, lambda: bool(app.main.query("#references")))
        shown = texts(app)
        assert "f5 generates" in shown["prompt"]
        assert "ctrl+r adds" in shown["refs"]
        assert shown["titles"] == "Prompt  f6 Jobs  f7 History  f8"
        assert "press f5" in shown["jobs"] and "press f5" in shown["history"]
        for text in shown.values():
            assert not any(old in text for old in DEFAULTS), text
        engine.history.add("a fox")
        await pilot.press("f8")
        await wait_for(pilot, lambda: app.main.query_one("#history-list").count == 1)
        await pilot.press("u")  # the default is no longer bound: nothing happens
        await pilot.press("d")
        await settle(pilot)
        await pilot.press("T", "T")
        await settle(pilot)
        assert any("(U restores)" in n for n in notes(app))
        await pilot.press("U", "U")  # the second has nothing left to restore
        await settle(pilot)
        assert any("(T shows the trash)" in n for n in notes(app))
        await pilot.press("f12")
        assert isinstance(app.screen, HelpScreen)
        assert "f12 / escape closes" in str(app.screen.query_one("#help-body").border_title)
        await pilot.press("f12")
        assert isinstance(app.screen, MainScreen)

    drive(app, steps)


def test_ctrl_c_names_the_live_quit_key(tmp_path: Path) -> None:
    folder = tmp_path / "images"
    folder.mkdir()
    app, _ = make_app(tmp_path, engine=FakeEngine(folder, keys={"quit": "f10"}))

    async def steps(pilot: Pilot[Any]) -> None:
        await pilot.press("ctrl+c")
        await settle(pilot)
        assert "Press f10 to quit." in notes(app) and app.is_running

    drive(app, steps)


def test_help_lists_the_fields_own_keys_too(tmp_path: Path) -> None:
    app, _ = make_app(tmp_path)

    async def steps(pilot: Pilot[Any]) -> None:
        await pilot.press("f1")
        table = app.screen.query_one("#help-table").content
        keys = {str(cell) for cell in table.columns[0]._cells}
        assert {"tab shift+tab", "← → space", "escape"} <= keys

    drive(app, steps)
