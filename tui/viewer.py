"""Full-screen image viewer run inside an `img:<slug>` tmux window (`imagen-tui view PATH`)."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Container, Horizontal, VerticalScroll
from textual.driver import Driver
from textual.widgets import Footer, Header, Static

from imagen_tui.backends import Engine, HistoryStore, ImagenTuiError, one_line, visible
from imagen_tui.tui import input_driver
from imagen_tui.tui.graphics.detect import RENDERERS
from imagen_tui.tui.graphics.startup import Startup, detect_graphics
from imagen_tui.tui.widgets.image_preview import ImagePreview
from imagen_tui.tui.widgets.typed_keys import replay_typed

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".webp"})
META_FIELDS = (
    *("prompt", "negative", "backend", "model", "seed"),
    *("steps", "size", "created_at", "cost"),
)
_ALIASES = {"cost": "cost_usd"}


def image_siblings(image: Path) -> list[Path]:
    """Images in `image`'s directory sorted by name, skipping hidden and partial files."""
    try:
        entries = list(image.parent.iterdir())
    except OSError:
        return []
    return sorted(
        p
        for p in entries
        if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".") and p.is_file()
    )


def _format(key: str, meta: dict[str, Any]) -> str:
    if key == "size":
        width, height = meta.get("width"), meta.get("height")
        return f"{width}x{height}" if width and height else "—"
    value = meta.get(_ALIASES.get(key, key))
    if value is None or value == "":
        return "—"
    if key == "created_at" and isinstance(value, int | float):
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(value))
    if key == "cost" and isinstance(value, int | float):
        return f"${value:.4f}"
    return visible(str(value), multiline=True)


def metadata_text(image: Path, history: HistoryStore | None = None) -> Text:
    """The metadata panel's text: our sidecar first, else what the file embeds (A1111,
    ComfyUI, our PNG chunk), with control characters made visible."""
    if history is None:
        history = Engine.open().history
    sidecar = image.with_suffix(".json")
    try:
        meta = history.metadata(image)
    except ImagenTuiError as exc:
        return Text(f"No metadata: {exc.message}", style="italic")
    if not meta.get("prompt") and not sidecar.exists() and not meta.get("sidecar_problem"):
        return Text(f"No metadata: {sidecar.name} not found.", style="italic")
    text = Text()
    if meta.get("sidecar_problem"):
        problem = one_line(meta["sidecar_problem"])
        text.append(f"sidecar unreadable: {sidecar.name}: {problem}\n", style="italic")
    for key in META_FIELDS:
        text.append(f"{key}: ", style="bold")
        text.append(_format(key, meta) + "\n")
    text.rstrip()
    return text


class ViewerApp(App[None]):
    """Shows one image as large as fits; steps through its siblings; `m` shows its metadata."""

    CSS_PATH = "styles/viewer.tcss"
    TITLE = "imagen-tui view"
    BINDINGS = [
        Binding("n,right,l", "next", "Next", id="viewer.next"),
        Binding("p,left,h", "previous", "Previous", id="viewer.previous"),
        Binding("m", "toggle_meta", "Metadata", id="viewer.metadata"),
        Binding("q,escape", "quit", "Quit", id="viewer.quit"),
    ]

    def __init__(
        self,
        image: Path,
        renderer: str = "auto",
        siblings: list[Path] | None = None,
        history: HistoryStore | None = None,
        startup: Startup | None = None,
    ) -> None:
        if renderer not in RENDERERS:
            raise ValueError(f"unknown renderer {renderer!r}; choose from {', '.join(RENDERERS)}")
        super().__init__()
        self.renderer = renderer
        self.history = history if history is not None else Engine.open().history
        image = Path(image)
        self.images = list(siblings) if siblings is not None else image_siblings(image)
        if image not in self.images:
            self.images.insert(0, image)
        self.index = self.images.index(image)
        self.in_history = False  # True once n/p stepped through the history, not the folder
        self.startup = startup

    @property
    def current(self) -> Path:
        """The image on screen."""
        return self.images[self.index]

    def get_driver_class(self) -> type[Driver]:
        """Textual's driver, reading input with a parser whose pastes are only text."""
        return input_driver.driver_class(self)

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="body"):
            with Container(id="stage"):
                yield ImagePreview(renderer=self.renderer, id="image")
            with VerticalScroll(id="meta"):
                yield Static(id="meta-body", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self._show_current()
        if self.startup is not None:
            replay_typed(self, self.startup.typed)
            if self.startup.advice:
                self.notify(self.startup.advice, title="Sharper previews", markup=False)

    def action_next(self) -> None:
        """Show the next image, wrapping to the first."""
        self._step(1)

    def action_previous(self) -> None:
        """Show the previous image, wrapping to the last."""
        self._step(-1)

    def action_toggle_meta(self) -> None:
        """Show or hide the metadata panel."""
        self.query_one("#meta").toggle_class("-visible")

    def _step(self, delta: int) -> None:
        """In history order when the image is in the history (images made after the viewer
        opened included); else through the files of its folder, wrapping around."""
        beside = self._history_neighbour(older=delta > 0)
        if beside is not None:
            self.images[self.index] = beside
            self.in_history = True  # the folder's "(i/N)" no longer says where we are
            self._show_current()
        elif len(self.images) > 1:
            self.index = (self.index + delta) % len(self.images)
            self._show_current()

    def _history_neighbour(self, *, older: bool) -> Path | None:
        try:
            row = self.history.neighbour(self.current, older=older)
        except ImagenTuiError:
            return None
        return Path(row.path) if row is not None else None

    def _show_current(self) -> None:
        path = self.current
        where = "" if self.in_history else f" ({self.index + 1}/{len(self.images)})"
        self.title = visible(f"{path.name}{where}")
        self.query_one("#meta-body", Static).update(metadata_text(path, self.history))
        self.query_one(ImagePreview).show(path)


def run_viewer(path: Path, renderer: str | None = None, config_renderer: str = "auto") -> int:
    """Entry point for `imagen-tui view PATH`; returns the process exit code.

    `renderer` is the --renderer flag (None: IMAGEN_RENDERER, then the config's setting)."""
    from imagen_tui.backends import paths

    path = Path(path)
    if not path.is_file():
        print(f"imagen-tui view: no such image: {visible(str(path))}", file=sys.stderr)
        return 2
    try:
        startup = detect_graphics(renderer, config_renderer, paths.state_dir())
    except ValueError as exc:
        print(f"imagen-tui view: {exc}", file=sys.stderr)
        return 2
    ImagePreview.configure(startup.decision, startup.cell_px)
    app = ViewerApp(path.absolute(), renderer=startup.requested, startup=startup)
    app.run()
    return 0 if app.return_code in (None, 0) else 1
