"""The workbench keymap as data: every binding has an id, keys, a description and a place.

DESIGN.md's key table ("The terminal side") is the default keymap and a contract: the help screen,
the footer and the tests all read this table. Users remap by id in the config's `[keys]` table
(`generate = "ctrl+enter"`); Textual applies that with `App.set_keymap`
(https://textual.textualize.io/api/app/#textual.app.App.set_keymap, read 2026-11-29).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from imagen_tui.tui.key_names import CHAR_NAMES, check_keys, types_text

if TYPE_CHECKING:  # Textual only where bindings are built: `config validate` imports this too
    from textual.binding import Binding

APP, EDITOR, LISTS, HISTORY, JOBS = "anywhere", "prompt editor", "lists", "history", "jobs"


@dataclass(frozen=True)
class KeySpec:
    """One binding: `keys` is Textual's comma-separated key list; `where` is a scope above."""

    id: str
    keys: str
    action: str
    description: str
    where: str
    show: bool = True
    priority: bool = False

    def binding(self) -> Binding:
        from textual.binding import Binding

        return Binding(
            self.keys,
            self.action,
            self.description,
            show=self.show,
            priority=self.priority,
            tooltip=self.description,
            id=self.id,
        )


KEYMAP: tuple[KeySpec, ...] = (
    # Priority: a focused TextArea would otherwise swallow these.
    KeySpec("generate", "ctrl+g", "generate", "Generate", APP, priority=True),
    KeySpec("help", "f1", "help", "Help", APP, priority=True),
    # f2/f3/f4 are written in the pane titles, so the key bar leaves them out.
    KeySpec("focus_editor", "f2", "focus_pane('editor')", "Editor", APP, show=False, priority=True),
    KeySpec("focus_jobs", "f3", "focus_pane('jobs')", "Jobs", APP, show=False, priority=True),
    KeySpec(
        "focus_history", "f4", "focus_pane('history')", "History", APP, show=False, priority=True
    ),
    KeySpec(
        "command_palette", "ctrl+p", "command_palette", "Commands", APP, show=False, priority=True
    ),
    KeySpec("quit", "ctrl+q", "request_quit", "Quit", APP, priority=True),
    KeySpec(
        "copy_command",
        "ctrl+y",
        "copy_command",
        "Copy as command",
        EDITOR,
        show=False,
        priority=True,
    ),  # fmt: skip
    KeySpec("list.down", "j,down", "move(1)", "Down", LISTS, show=False),
    KeySpec("list.up", "k,up", "move(-1)", "Up", LISTS, show=False),
    KeySpec("list.top", "g,home", "first", "First", LISTS, show=False),
    KeySpec("list.bottom", "G,end", "last", "Last", LISTS, show=False),
    KeySpec("list.page_down", "pagedown", "page(1)", "Page down", LISTS, show=False),
    KeySpec("list.page_up", "pageup", "page(-1)", "Page up", LISTS, show=False),
    KeySpec("history.search", "slash", "search", "Search", HISTORY),
    KeySpec("history.favourites", "F", "toggle_favourites", "Favourites only", HISTORY),
    KeySpec("history.preview", "enter", "preview", "Preview", HISTORY),
    KeySpec("history.open", "o", "open", "Open in tmux", HISTORY),
    KeySpec("history.favourite", "f", "favourite", "Favourite", HISTORY),
    KeySpec("history.trash", "d", "trash", "Trash", HISTORY),
    KeySpec("history.restore", "u", "restore", "Restore", HISTORY),
    KeySpec("history.rerun", "r", "rerun", "Re-run", HISTORY),
    KeySpec("history.vary", "s", "vary_seed", "New seed", HISTORY),
    KeySpec("history.edit", "e", "edit", "Edit", HISTORY),
    KeySpec("history.reference", "E", "edit_reference", "As reference", HISTORY),
    KeySpec("history.copy_prompt", "y", "copy_prompt", "Copy prompt", HISTORY),
    KeySpec("history.trash_view", "t", "toggle_trash_view", "Trash view", HISTORY),
    KeySpec("jobs.cancel", "x", "cancel", "Cancel", JOBS),
    KeySpec("jobs.retry", "R", "retry", "Retry", JOBS),
    KeySpec("jobs.open", "o", "open", "Open in tmux", JOBS),
)

SCOPES: tuple[str, ...] = (APP, EDITOR, LISTS, HISTORY, JOBS)


def specs(where: str) -> list[KeySpec]:
    """The bindings of one scope, in table order."""
    return [s for s in KEYMAP if s.where == where]


def bindings(where: str) -> list[Binding]:
    """Textual `Binding`s for one scope (a widget's or the app's BINDINGS)."""
    return [s.binding() for s in specs(where)]


def list_bindings(*scopes: str) -> list[Binding]:
    """Bindings of a list widget: the shared list moves plus its own scopes."""
    return [b for where in (LISTS, *scopes) for b in bindings(where)]


def validate_overrides(overrides: Mapping[str, object]) -> tuple[dict[str, str], list[str]]:
    """Split config `[keys]` into a usable keymap and one problem line per refused entry.

    Refused: an unknown binding id, a value that is not text or is empty, a malformed key
    (`key_names.check_key`), a printable or editing key for a binding that works while the prompt
    has focus, and a key another binding already uses where both work. Each problem names the
    id, what is wrong and what to do; a refused id keeps its default keys. Nested tables
    (`[keys.history]` / unquoted `history.trash = "x"`) count as dotted ids.
    """
    by_id = {s.id: s for s in KEYMAP}
    keymap: dict[str, str] = {}
    problems: list[str] = []
    for binding_id, value in _flatten(overrides):
        if binding_id not in by_id:
            problems.append(_unknown(binding_id))
            continue
        keys, problem = check_keys(value)
        spec = by_id[binding_id]
        reserved = [k for k in keys if k in RESERVED_KEYS]
        if problem is None and reserved:
            problem = f"{reserved[0]!r} {RESERVED_KEYS[reserved[0]]}; choose another key"
        if problem is None and spec.priority:
            typed = [k for k in keys if types_text(k)]
            if typed:
                problem = (
                    f"{typed[0]!r} types into the prompt, so it cannot work anywhere; "
                    "use ctrl, alt or a function key (e.g. ctrl+g, f5)"
                )
        if problem is not None:
            problems.append(_refused(spec, problem))
        else:
            keymap[binding_id] = ",".join(keys)
    _drop_clashes(keymap, by_id, problems)
    return keymap, problems


RESERVED_KEYS = {
    "tab": "moves to the next field",
    "shift+tab": "moves to the previous field",
}
"""Keys no binding may take: the focus moves with them everywhere."""


def _flatten(table: Mapping[str, object], prefix: str = "") -> list[tuple[str, object]]:
    items: list[tuple[str, object]] = []
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            items += _flatten(value, name + ".")
        else:
            items.append((name, value))
    return items


def _unknown(binding_id: str) -> str:
    close = difflib.get_close_matches(binding_id, [s.id for s in KEYMAP], n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"keys.{binding_id}: no such binding id; {hint}the help screen lists every id"


def _refused(spec: KeySpec, problem: str) -> str:
    return f"keys.{spec.id}: {problem}; using the default {display_keys(spec.keys)}"


def _overlap(a: str, b: str) -> bool:
    """Can bindings of scopes `a` and `b` both see one key press?"""
    if a == b or APP in (a, b) or EDITOR in (a, b):
        return True
    return {a, b} in ({LISTS, HISTORY}, {LISTS, JOBS})


def _drop_clashes(keymap: dict[str, str], by_id: Mapping[str, KeySpec], out: list[str]) -> None:
    """Refuse overrides whose key another binding uses where both work (later entries first)."""
    while True:
        keys = {s.id: (keymap.get(s.id, s.keys)).split(",") for s in KEYMAP}
        clash = None
        for spec_id in reversed(list(keymap)):
            spec = by_id[spec_id]
            for other in KEYMAP:
                shared = set(keys[spec_id]) & set(keys[other.id])
                if other.id != spec_id and shared and _overlap(spec.where, other.where):
                    clash = (spec, other, sorted(shared)[0])
                    break
            if clash:
                break
        if clash is None:
            return
        spec, other, key = clash
        del keymap[spec.id]
        out.append(_refused(spec, f"{display_keys(key)!r} is already {other.id}'s key"))


def effective(keymap: Mapping[str, str]) -> list[KeySpec]:
    """The table with user overrides applied: what the help screen shows."""
    return [replace(s, keys=keymap[s.id]) if s.id in keymap else s for s in KEYMAP]


def display_keys(keys: str) -> str:
    """`j,down` → `j ↓`, the way the help screen writes keys."""
    names = {"down": "↓", "up": "↑", "pagedown": "PgDn", "pageup": "PgUp"}
    names |= {"home": "Home", "end": "End", "enter": "enter", "space": "space"}
    names |= {name: char for char, name in CHAR_NAMES.items() if name not in names}
    return " ".join(_display_key(k, names) for k in keys.split(","))


def _display_key(key: str, names: Mapping[str, str]) -> str:
    *mods, name = key.split("+") if len(key) > 1 else [key]
    return "+".join([*mods, names.get(name, name)])


def key_label(keymap: Mapping[str, str], binding_id: str) -> str:
    """The first key of `binding_id` as the user sees it (`ctrl+g`, or their remapped key):
    what placeholders, notifications and empty states name."""
    spec = next(s for s in KEYMAP if s.id == binding_id)
    return display_keys(keymap.get(binding_id, spec.keys).split(",")[0])
