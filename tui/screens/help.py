"""The f1 help screen, generated from the live keymap (defaults plus the user's `[keys]`)."""

from __future__ import annotations

from collections.abc import Mapping

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from imagen_tui.tui import bindings


def keymap_table(keymap: Mapping[str, str]) -> Table:
    """Every binding, grouped by where it works: keys, action, binding id (for `[keys]`)."""
    table = Table(box=None, expand=True, pad_edge=False, show_header=True)
    table.add_column("keys", no_wrap=True, style="bold")
    table.add_column("action", ratio=1)
    table.add_column(Text("id (config [keys])"), no_wrap=True, style="dim")
    specs = bindings.effective(keymap)
    for scope in bindings.SCOPES:
        rows = [s for s in specs if s.where == scope]
        if not rows:
            continue
        table.add_row(Text(scope, style="italic underline"), "", "")
        for spec in rows:
            table.add_row(bindings.display_keys(spec.keys), spec.description, spec.id)
    table.add_row(Text("in the editor and lists (fixed keys)", style="italic underline"), "", "")
    for keys, action in FIXED_KEYS:
        table.add_row(keys, action, "")
    return table


FIXED_KEYS = (
    ("tab shift+tab", "Next / previous field"),
    ("↑ ↓", "Earlier / later prompts (on the prompt's first / last line)"),
    ("← → space", "Change a choice (backend, size, style)"),
    ("enter", "Search (in the search box)"),
    ("escape", "Close the search, a preview or this screen"),
)
"""Keys of the fields themselves: not remappable, listed so the help screen has every key."""


class HelpScreen(ModalScreen[None]):
    """Every key; escape, q or the help key (the app's binding) closes it."""

    BINDINGS = [Binding("escape,q", "dismiss", "Close", id="help.close")]

    def __init__(self, keymap: Mapping[str, str]) -> None:
        super().__init__()
        self.keymap = dict(keymap)

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-body") as body:
            key = bindings.key_label(self.keymap, "help")
            body.border_title = f"Keys ({key} / escape closes)"
            yield Static(keymap_table(self.keymap), id="help-table")
