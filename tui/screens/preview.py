"""`enter` in history: the image as large as the terminal allows, inside the app."""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.widgets import Static

from imagen_tui.tui.text import safe
from imagen_tui.tui.widgets.cell_preview import make_preview


class PreviewScreen(ModalScreen[None]):
    """Shows one image full screen; escape, q or enter returns."""

    BINDINGS = [Binding("escape,q,enter", "dismiss", "Back", id="preview.close")]

    def __init__(self, path: Path, renderer: str) -> None:
        super().__init__()
        self.path = path
        self.renderer = renderer

    def compose(self) -> ComposeResult:
        yield make_preview(self.renderer, id="full-preview")
        yield Static(safe(self.path.name), id="full-preview-caption", markup=False)

    def on_mount(self) -> None:
        self.query_one("#full-preview").show(self.path)  # type: ignore[attr-defined]
