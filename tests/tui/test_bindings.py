"""The keymap table is DESIGN.md's key table; overrides by id are validated."""

from __future__ import annotations

from imagen_tui.tui import bindings

# DESIGN.md "The terminal side": key → where it works.
DESIGN_KEYS = {
    "ctrl+g": "anywhere", "f1": "anywhere", "f2": "anywhere", "f3": "anywhere",
    "f4": "anywhere", "ctrl+p": "anywhere", "ctrl+q": "anywhere",
    "j": "lists", "k": "lists", "down": "lists", "up": "lists", "g": "lists", "G": "lists",
    "slash": "history", "enter": "history", "f": "history", "d": "history", "u": "history",
    "r": "history", "s": "history", "e": "history", "E": "history", "y": "history",
    "x": "jobs", "R": "jobs",
}  # fmt: skip


def test_every_binding_has_an_id_and_description() -> None:
    ids = [s.id for s in bindings.KEYMAP]
    assert len(ids) == len(set(ids))
    for spec in bindings.KEYMAP:
        binding = spec.binding()
        assert binding.id == spec.id and binding.description and binding.tooltip


def test_design_key_table_is_the_default_keymap() -> None:
    table = {(k, s.where) for s in bindings.KEYMAP for k in s.keys.split(",")}
    for key, where in DESIGN_KEYS.items():
        assert (key, where) in table, (key, where)
    assert ("o", "history") in table and ("o", "jobs") in table


def test_overrides_validated_and_applied() -> None:
    keymap, problems = bindings.validate_overrides(
        {"generate": "ctrl+enter, f5", "nope": "x", "help": " , "}
    )
    assert keymap == {"generate": "ctrl+enter,f5"}
    assert [p.split(";")[0] for p in problems] == [
        "keys.nope: no such binding id",
        "keys.help: an empty key between commas",
    ]
    assert problems[1].endswith("using the default f1")
    live = {s.id: s.keys for s in bindings.effective(keymap)}
    assert live["generate"] == "ctrl+enter,f5" and live["help"] == "f1"


def test_display_keys() -> None:
    assert bindings.display_keys("j,down") == "j ↓"
    assert bindings.display_keys("slash") == "/"
