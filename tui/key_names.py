"""Key strings as a user writes them in `[keys]`, checked and put in Textual's spelling.

No Textual import: `imagen-tui config validate` uses this too. Textual names a key event by its
modifiers in alphabetical order, then the key: `ctrl+g`, `alt+shift+x`, `f5`, `question_mark`
(textual 8.2.8 `_xterm_parser.py` sorts the modifier tokens; `keys.py` `_character_to_key` names
punctuation by its Unicode name; read 2026-11-30). A key string that does not have this shape
(`ctrl+`, `ctrl++g`, `shift+ctrl+up`) is accepted by Textual and then never fires, so it is
refused here with what to write instead.
"""

from __future__ import annotations

from dataclasses import dataclass

MODIFIERS = ("alt", "ctrl", "hyper", "meta", "shift", "super")
"""Textual's modifier names, in the order it writes them."""

CHAR_NAMES = {
    "!": "exclamation_mark", '"': "quotation_mark", "#": "number_sign", "$": "dollar_sign",
    "%": "percent_sign", "&": "ampersand", "'": "apostrophe", "(": "left_parenthesis",
    ")": "right_parenthesis", "*": "asterisk", "+": "plus", ",": "comma", "-": "minus",
    ".": "full_stop", "/": "slash", ":": "colon", ";": "semicolon", "<": "less_than_sign",
    "=": "equals_sign", ">": "greater_than_sign", "?": "question_mark", "@": "at",
    "[": "left_square_bracket", "\\": "backslash", "]": "right_square_bracket",
    "^": "circumflex_accent", "_": "underscore", "`": "grave_accent", "{": "left_curly_bracket",
    "|": "vertical_line", "}": "right_curly_bracket", "~": "tilde", " ": "space",
}  # fmt: skip
"""Printable ASCII punctuation → Textual's key name (the same as `_character_to_key`)."""

EDITING_KEYS = frozenset(
    {"backspace", "delete", "down", "end", "enter", "escape", "home", "insert", "left"}
    | {"pagedown", "pageup", "right", "space", "tab", "up"}
)
FUNCTION_KEYS = frozenset(f"f{n}" for n in range(1, 25))
NAMED_KEYS = EDITING_KEYS | FUNCTION_KEYS | frozenset(CHAR_NAMES.values())
TYPING_MODIFIERS = frozenset({"shift"})
"""Modifiers that still type into a text field (shift+x is X)."""


@dataclass(frozen=True)
class KeyCheck:
    """`key` in Textual's spelling, or `problem` (what is wrong and what to write instead)."""

    key: str | None
    problem: str | None = None


def check_key(text: str) -> KeyCheck:
    """One key (no commas): `"ctrl+G"` → problem, `"shift+ctrl+up"` → `ctrl+shift+up`, `"?"` →
    `question_mark`."""
    if text == "":
        return KeyCheck(None, "an empty key between commas; remove the extra comma")
    if len(text) == 1:
        return _single(text)
    *mods, name = text.split("+")
    if name == "":
        return KeyCheck(None, f"{text!r} ends with '+'; name a key after it (e.g. ctrl+g)")
    if "" in mods:
        return KeyCheck(None, f"{text!r} has an empty part between '+'; write e.g. ctrl+g")
    unknown = [m for m in mods if m.lower() not in MODIFIERS]
    if unknown:
        return KeyCheck(None, f"{unknown[0]!r} is not a modifier; use {', '.join(MODIFIERS)}")
    lowered = [m.lower() for m in mods]
    if len(set(lowered)) != len(lowered):
        return KeyCheck(None, f"{text!r} repeats a modifier")
    return _with_modifiers(text, sorted(lowered), name)


def _single(char: str) -> KeyCheck:
    if not char.isprintable():
        return KeyCheck(None, f"{char!r} is a control character, not a key name")
    if char.isalnum():
        return KeyCheck(char)
    if char in CHAR_NAMES:
        return KeyCheck(CHAR_NAMES[char])
    return KeyCheck(None, f"{char!r} is not a key on a terminal keyboard")


def _with_modifiers(text: str, mods: list[str], name: str) -> KeyCheck:
    base = name if len(name) == 1 and not name.isalnum() else name.lower()
    if len(name) == 1:
        if name.isalpha() and name.isupper():
            if mods == ["shift"]:
                return KeyCheck(None, f"{text!r}: write the capital letter alone ({name})")
            lower = "+".join([*mods, name.lower()])
            return KeyCheck(None, f"{text!r}: write the letter in lower case ({lower})")
        if name.isalpha() and mods == ["shift"]:
            return KeyCheck(None, f"{text!r}: write the capital letter ({name.upper()})")
        single = _single(name)
        if single.key is None:
            return KeyCheck(None, f"{text!r}: {single.problem}")
        base = single.key
    elif base not in NAMED_KEYS:
        return KeyCheck(None, f"{text!r}: {name!r} is not a key name (e.g. f5, enter, slash, up)")
    return KeyCheck("+".join([*mods, base]))


def check_keys(value: object) -> tuple[list[str], str | None]:
    """A `[keys]` value (`"j,down"`): (its keys in Textual's spelling, None), or ([], problem)."""
    if not isinstance(value, str):
        return [], f'must be text such as "ctrl+g" or "j,down" (got {_kind(value)})'
    if not value.strip():
        return [], 'is empty; give at least one key, such as "ctrl+g"'
    keys: list[str] = []
    for part in value.split(","):
        checked = check_key(part.strip())
        if checked.key is None:
            return [], str(checked.problem)
        if checked.key not in keys:
            keys.append(checked.key)
    return keys, None


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list | tuple):
        return "a list; join the keys with commas in one string"
    return f"a {type(value).__name__}"


def types_text(key: str) -> bool:
    """True for a key that types or edits in a text field (`g`, `G`, `space`, `enter`, `left`):
    bound where the prompt has focus, it would stop that key from reaching the prompt."""
    *mods, name = key.split("+") if len(key) > 1 else [key]
    if any(m not in TYPING_MODIFIERS for m in mods):
        return False
    return len(name) == 1 or name in CHAR_NAMES.values() or name in EDITING_KEYS
