"""A full-screen preview of one image: `python -m imagen_tui.tui.preview_app IMAGE`.

It shows how the viewer and the workbench wire the preview component: detection before
`App.run()`, `ImagePreview.configure()`, typed keys replayed, the advice notified once.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.driver import Driver
from textual.widgets import Footer, Header

from imagen_tui.tui import input_driver
from imagen_tui.tui.graphics.detect import RENDERERS
from imagen_tui.tui.graphics.startup import Startup, detect_graphics
from imagen_tui.tui.widgets.image_preview import ImagePreview
from imagen_tui.tui.widgets.typed_keys import replay_typed


class PreviewApp(App[None]):
    """Header, the image as large as fits, footer; `r` cycles the renderer."""

    BINDINGS = [
        Binding("r", "cycle_renderer", "Renderer", id="preview.renderer"),
        Binding("q,escape", "quit", "Quit", id="preview.quit"),
    ]
    CSS = "ImagePreview { height: 1fr; }"

    def __init__(self, image: Path, startup: Startup, status: Path | None = None) -> None:
        super().__init__()
        self.image, self.startup, self.status = image, startup, status

    def get_driver_class(self) -> type[Driver]:
        """Textual's driver, reading input with a parser whose pastes are only text."""
        return input_driver.driver_class(self)

    def compose(self) -> ComposeResult:
        yield Header()
        yield ImagePreview(self.image, renderer=self.startup.requested, id="preview")
        yield Footer()

    def on_mount(self) -> None:
        self._retitle()
        replay_typed(self, self.startup.typed)
        if self.startup.advice:
            self.notify(self.startup.advice, title="Sharper previews", markup=False, timeout=10)

    def on_image_preview_prepared(self) -> None:
        self.call_after_refresh(self._retitle, True)

    def _retitle(self, drawn: bool = False) -> None:
        renderer = self.query_one(ImagePreview).effective_renderer
        self.title = f"{self.image.name} ({renderer})"
        if self.status is not None and drawn:  # a picture is on screen (or its notice)
            self.status.write_text(renderer + "\n", encoding="utf-8")

    def action_cycle_renderer(self) -> None:
        """Switch to the next renderer setting (auto → kitty → … → off → auto)."""
        preview = self.query_one(ImagePreview)
        preview.renderer = RENDERERS[(RENDERERS.index(preview.renderer) + 1) % len(RENDERERS)]
        self._retitle()


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, detect the terminal, run the app; returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m imagen_tui.tui.preview_app")
    parser.add_argument("image", type=Path)
    parser.add_argument("--renderer", help=f"one of {', '.join(RENDERERS)} (default auto)")
    parser.add_argument("--status", type=Path, help="write the renderer in use to this file")
    opts = parser.parse_args(argv)
    if not opts.image.is_file():
        print(f"preview: no such image: {opts.image}", file=sys.stderr)
        return 2
    try:
        startup = detect_graphics(opts.renderer, None, None)
    except ValueError as exc:
        print(f"preview: {exc}", file=sys.stderr)
        return 2
    ImagePreview.configure(startup.decision, startup.cell_px)
    PreviewApp(opts.image, startup, opts.status).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
