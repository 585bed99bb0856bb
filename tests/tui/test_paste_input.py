"""A bracketed paste is text for the focused field, never keys: fed as the raw terminal bytes."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from imagen_tui.tui import input_driver
from imagen_tui.tui.widgets.history_list import HistoryList
from tests.tui.workbench_helpers import drive, make_app, settle

# Each payload holds keys of the history table (d trashes, f favourites, y copies, s re-runs)
# behind an ESC, a BEL (= ctrl+g), other C0 controls, a function key's and an arrow's sequence.
HOSTILE = [
    "\x1bdd",
    "a\x1bfys\x07",
    "\x07\x07\x1b",
    "\x1bOP\x1b[24~\x1b[A d",  # f1, f12, up, then a space and d
    "x" * 40 + "\x1b" + "d" * 40,  # longer than Textual's 32-character sequence search
    "\x1b\x1b[200~dd\x1b",  # a nested start marker
    "\x00\x03\x11\x1a\x7f\x9b2J",  # NUL, ctrl+c, ctrl+q, ctrl+z, DEL, CSI
]


async def feed(pilot: Pilot[Any], raw: str) -> None:
    """Post what the workbench's driver would make of `raw` terminal input."""
    parser = input_driver.new_parser()
    for message in [*parser.feed(raw), *parser.feed("")]:
        pilot.app.post_message(message)
    await settle(pilot)


def bracketed(text: str) -> str:
    return "\x1b[200~" + text + "\x1b[201~"


@pytest.mark.parametrize("payload", HOSTILE)
def test_a_paste_into_history_acts_as_no_key(tmp_path: Path, payload: str) -> None:
    app, engine = make_app(tmp_path, images=3)

    async def steps(pilot: Pilot[Any]) -> None:
        await pilot.press("f4")
        assert isinstance(app.focused, HistoryList)
        await feed(pilot, bracketed(payload))
        assert [r.trashed or r.favourite for r in engine.history.rows] == [False] * 3
        assert engine.submitted == []
        assert app.screen is app.main and app.is_running
        assert isinstance(app.focused, HistoryList)

    drive(app, steps)


@pytest.mark.parametrize("payload", HOSTILE)
def test_a_paste_into_the_prompt_is_its_text_with_controls_visible(
    tmp_path: Path, payload: str
) -> None:
    app, engine = make_app(tmp_path, images=1)

    async def steps(pilot: Pilot[Any]) -> None:
        await feed(pilot, bracketed(payload))
        text = app.screen.query_one("#prompt").text  # type: ignore[attr-defined]
        assert text and not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in text)
        assert text.count("d") == payload.count("d")
        assert engine.submitted == [] and app.screen is app.main

    drive(app, steps)


def test_pasted_line_breaks_are_newlines_and_keys_after_the_paste_still_work(
    tmp_path: Path,
) -> None:
    app, engine = make_app(tmp_path)

    async def steps(pilot: Pilot[Any]) -> None:
        await feed(pilot, bracketed("a red fox\r\nin snow\x1b") + "\x07")  # the BEL is ctrl+g
        assert [r.prompt for r in engine.submitted] == ["a red fox\nin snow␛"]

    drive(app, steps)


def test_the_apps_read_the_terminal_through_the_paste_safe_driver(tmp_path: Path) -> None:
    from textual.app import App

    from imagen_tui.tui.preview_app import PreviewApp
    from imagen_tui.tui.viewer import ViewerApp

    app, _ = make_app(tmp_path)
    # Windows keeps Textual's own driver (its input is not an xterm byte stream).
    expected = (
        App.get_driver_class(app) if sys.platform == "win32" else input_driver.PasteSafeDriver
    )
    for cls in (type(app), ViewerApp, PreviewApp):
        assert cls.get_driver_class(app) is expected  # type: ignore[arg-type]


def test_ctrl_v_of_the_apps_own_clipboard_is_cleaned_like_a_paste(tmp_path: Path) -> None:
    app, _ = make_app(tmp_path)

    async def steps(pilot: Pilot[Any]) -> None:
        app.copy_to_clipboard("fox\x1b]0;t\x07")  # e.g. a sidecar's prompt copied with y
        await pilot.press("ctrl+v")
        assert app.screen.query_one("#prompt").text == "fox␛]0;t␇"  # type: ignore[attr-defined]
        await pilot.press("f4", "slash", "ctrl+v")
        assert app.screen.query_one("#search").value == "fox␛]0;t␇"  # type: ignore[attr-defined]

    drive(app, steps)
