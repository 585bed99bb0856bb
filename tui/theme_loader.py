"""Colour themes from TOML: the bundled ones in `imagen_tui.themes`, and the user's own.

A theme file holds the fields of `textual.theme.Theme` (https://textual.textualize.io/guide/design/,
read 2026-11-29): `name`, `dark`, the colours `primary secondary accent foreground background
surface panel boost warning error success` as CSS colour strings, and an optional `[variables]`
table of design variables (e.g. `footer-key-foreground`). User themes live in
`<config dir>/themes/*.toml`; a file that does not parse becomes one problem line, never a crash.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from textual.color import Color, ColorParseError
from textual.theme import Theme

BUNDLED_PACKAGE = "imagen_tui.themes"
DEFAULT_THEME = "imagen-dark"
COLOUR_KEYS = (
    *("primary", "secondary", "accent", "foreground", "background"),
    *("surface", "panel", "boost", "warning", "error", "success"),
)
_KNOWN = {"name", "dark", "variables", *COLOUR_KEYS}


@dataclass
class ThemeSet:
    """Themes that loaded, and one line per file that did not."""

    themes: list[Theme] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def names(self) -> list[str]:
        return [t.name for t in self.themes]


def _colour(source: str, key: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{source}: {key} must be a colour string, not {type(value).__name__}")
    try:
        Color.parse(value)
    except ColorParseError:
        raise ValueError(f"{source}: {key} = {value!r} is not a colour") from None
    return value


def parse_theme(text: str, source: str) -> Theme:
    """A `Theme` from TOML `text`; ValueError (one line naming `source`) when it is not one."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{source}: not valid TOML ({exc})") from None
    unknown = sorted(set(data) - _KNOWN)
    if unknown:
        raise ValueError(f"{source}: unknown key {unknown[0]!r}")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"{source}: needs a name")
    if "primary" not in data:
        raise ValueError(f"{source}: needs a primary colour")
    colours = {k: _colour(source, k, data[k]) for k in COLOUR_KEYS if k in data}
    variables = data.get("variables", {})
    if not isinstance(variables, dict):
        raise ValueError(f"{source}: [variables] must be a table")
    for key, value in variables.items():
        if not isinstance(value, str):
            raise ValueError(f"{source}: variables.{key} must be a string")
    dark = data.get("dark", True)
    if not isinstance(dark, bool):
        raise ValueError(f"{source}: dark must be true or false")
    return Theme(name=name.strip(), dark=dark, variables=dict(variables), **colours)


def bundled_themes() -> ThemeSet:
    """The themes shipped in the `imagen_tui.themes` package, sorted by file name."""
    found = ThemeSet()
    files = sorted(
        (f for f in resources.files(BUNDLED_PACKAGE).iterdir() if f.name.endswith(".toml")),
        key=lambda f: f.name,
    )
    for file in files:
        try:
            found.themes.append(parse_theme(file.read_text(encoding="utf-8"), file.name))
        except ValueError as exc:
            found.problems.append(str(exc))
    return found


def user_themes(folder: Path) -> ThemeSet:
    """Themes in `folder/*.toml`; a missing folder is simply empty."""
    found = ThemeSet()
    try:
        files = sorted(p for p in folder.iterdir() if p.suffix == ".toml")
    except OSError:
        return found
    for file in files:
        try:
            found.themes.append(parse_theme(file.read_text(encoding="utf-8"), file.name))
        except (OSError, UnicodeDecodeError) as exc:
            found.problems.append(f"{file.name}: cannot read ({exc})")
        except ValueError as exc:
            found.problems.append(str(exc))
    return found


def load_themes(user_folder: Path | None) -> ThemeSet:
    """Bundled themes, then the user's (a user theme may replace a bundled one of its name)."""
    result = bundled_themes()
    if user_folder is not None:
        users = user_themes(user_folder)
        names = set(users.names())
        result.themes = [t for t in result.themes if t.name not in names] + users.themes
        result.problems += users.problems
    return result
