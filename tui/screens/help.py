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

NARROW = 70
"""Below this many columns the id column is left out: Rich squeezed the actions to nothing."""


def keymap_table(keymap: Mapping[str, str], *, ids: bool = True) -> Table:
    """Every binding, grouped by where it works: keys, action, and with `ids` the binding id
    (for `[keys]`)."""
    table = Table(box=None, expand=True, pad_edge=False, show_header=True)
    # Narrow: the scope headings (in this column) may wrap rather than take every column.
    table.add_column("keys", no_wrap=ids, max_width=None if ids else 16, style="bold")
    table.add_column("action", ratio=1)
    if ids:
        table.add_column(Text("id (config [keys])"), no_wrap=True, style="dim")

    def row(*cells: str | Text) -> None:
        table.add_row(*cells[: len(table.columns)])

    specs = bindings.effective(keymap)
    for scope in bindings.SCOPES:
        rows = [s for s in specs if s.where == scope]
        if not rows:
            continue
        row(Text(scope, style="italic underline"), "", "")
        for spec in rows:
            row(bindings.display_keys(spec.keys), spec.description, spec.id)
    row(Text("in the editor and lists (fixed keys)", style="italic underline"), "", "")
    for keys, action in FIXED_KEYS:
        row(keys, action, "")
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
            wide = self.app.size.width >= NARROW
            yield Static(keymap_table(self.keymap, ids=wide), id="help-table")

    def on_resize(self) -> None:
        """Keep or drop the id column as the terminal is resized."""
        table = keymap_table(self.keymap, ids=self.size.width >= NARROW)
        self.query_one("#help-table", Static).update(table)
