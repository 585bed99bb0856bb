"""The workbench keymap as data: every binding has an id, keys, a description and a place.

DESIGN.md's key table ("The terminal side") is the default keymap and a contract: the help screen,
the footer and the tests all read this table. Users remap by id in the config's `[keys]` table
(`generate = "ctrl+enter"`); Textual applies that with `App.set_keymap`
(https://textual.textualize.io/api/app/#textual.app.App.set_keymap, read 2026-11-29).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

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


def validate_overrides(overrides: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """Split config `[keys]` into a usable keymap and one problem line per unknown id or empty."""
    known = {s.id for s in KEYMAP}
    keymap: dict[str, str] = {}
    problems: list[str] = []
    for binding_id, keys in overrides.items():
        parts = [k.strip() for k in keys.split(",") if k.strip()] if isinstance(keys, str) else []
        if binding_id not in known:
            problems.append(f"keys.{binding_id}: no such binding id")
        elif not parts:
            problems.append(f"keys.{binding_id}: needs at least one key")
        else:
            keymap[binding_id] = ",".join(parts)
    return keymap, problems


def effective(keymap: Mapping[str, str]) -> list[KeySpec]:
    """The table with user overrides applied: what the help screen shows."""
    return [replace(s, keys=keymap[s.id]) if s.id in keymap else s for s in KEYMAP]


def display_keys(keys: str) -> str:
    """`j,down` → `j ↓`, the way the help screen writes keys."""
    names = {"down": "↓", "up": "↑", "slash": "/", "pagedown": "PgDn", "pageup": "PgUp"}
    names |= {"home": "Home", "end": "End", "enter": "enter"}
    return " ".join(names.get(k, k) for k in keys.split(","))
