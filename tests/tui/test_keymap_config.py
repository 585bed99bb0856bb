"""Malformed `[keys]` entries: one notification naming each id and the fix; defaults stay."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from imagen_tui.tui import bindings
from imagen_tui.tui.key_names import check_key
from tests.tui.fake_engine import FakeEngine
from tests.tui.workbench_helpers import drive, make_app, settle, type_text

BAD = {
    "generate": "ctrl+",
    "help": "ctrl++g",
    "quit": "",
    "history.trash": 5,
    "nonsense": "x",
    "focus_jobs": ["f6"],
    "copy_command": "g",
    "history.favourite": "d",
    "list.down": "shift+ctrl+up,j",
    "jobs.cancel": "ctrl+G",
    "history.vary": "tab",
}


def test_bad_keys_are_one_notification_and_fall_back_to_the_defaults(tmp_path: Path) -> None:
    folder = tmp_path / "images"
    folder.mkdir()
    engine = FakeEngine(folder, keys=BAD)
    app, _ = make_app(tmp_path, images=2, engine=engine)

    async def steps(pilot: Pilot[Any]) -> None:
        keyed = [n for n in app._notifications if n.title == "Config [keys]"]
        assert len(keyed) == 1
        lines = keyed[0].message.splitlines()
        for binding_id in BAD.keys() - {"list.down"}:
            assert any(line.startswith(f"keys.{binding_id}: ") for line in lines), binding_id
        assert app.live_keymap == {"list.down": "ctrl+shift+up,j"}
        await type_text(pilot, "fox")
        await pilot.press("ctrl+g")  # generate's default still works
        await settle(pilot)
        assert [r.prompt for r in engine.submitted] == ["fox"]
        await pilot.press("f4", "f")  # favourite kept f: d still trashes
        await settle(pilot)
        assert engine.history.rows[-1].favourite

    drive(app, steps)


@pytest.mark.parametrize(
    ("text", "key"),
    [("ctrl+g", "ctrl+g"), ("shift+ctrl+up", "ctrl+shift+up"), ("?", "question_mark"),
     ("G", "G"), ("ALT+x", "alt+x"), ("f12", "f12"), ("ctrl+/", "ctrl+slash")],
)  # fmt: skip
def test_good_key_strings_take_textuals_spelling(text: str, key: str) -> None:
    assert check_key(text).key == key


@pytest.mark.parametrize(
    "text",
    ["ctrl+", "ctrl++g", "hyperr+x", "ctrl+ctrl+g", "ctrl+G", "shift+a", "ctrl+nope", "\x07"],
)
def test_malformed_key_strings_say_what_to_write(text: str) -> None:
    checked = check_key(text)
    assert checked.key is None and checked.problem


def test_key_names_match_textuals_own() -> None:
    from textual.keys import Keys, _character_to_key

    from imagen_tui.tui.key_names import CHAR_NAMES, NAMED_KEYS

    for char, name in CHAR_NAMES.items():
        assert _character_to_key(char) == name
    plain = {k.value for k in Keys if "+" not in k.value and not k.value.startswith("<")}
    assert plain | set(CHAR_NAMES.values()) >= NAMED_KEYS


def test_swapped_keys_are_not_a_clash() -> None:
    keymap, problems = bindings.validate_overrides({"history.trash": "f", "history.favourite": "d"})
    assert problems == [] and keymap == {"history.trash": "f", "history.favourite": "d"}


def test_unquoted_dotted_ids_in_toml_are_understood() -> None:
    import tomllib

    table = tomllib.loads('[keys]\nhistory.trash = "D"\n"jobs.cancel" = "X"\n')["keys"]
    keymap, problems = bindings.validate_overrides(table)
    assert problems == [] and keymap == {"history.trash": "D", "jobs.cancel": "X"}
