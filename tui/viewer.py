"""Full-screen image viewer run inside an `img:<slug>` tmux window (`imagen-tui view PATH`)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from PIL import Image as PILImage
from PIL import ImageOps
from rich.text import Text
from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Container, Horizontal, VerticalScroll
from textual.events import Resize
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Footer, Header, Static
from textual.worker import get_current_worker

from imagen_tui.backends import Engine, HistoryStore, ImagenTuiError, one_line, visible
from imagen_tui.tui import tmux

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".webp"})
RENDERERS = ("auto", "kitty", "tgp", "sixel", "halfcell", "unicode", "off")
_WIDGET_NAMES = {
    "auto": "Image",
    "kitty": "TGPImage",
    "tgp": "TGPImage",
    "sixel": "SixelImage",
    "halfcell": "HalfcellImage",
    "unicode": "UnicodeImage",
}
META_FIELDS = (
    *("prompt", "negative", "backend", "model", "seed"),
    *("steps", "size", "created_at", "cost"),
)
_ALIASES = {"cost": "cost_usd"}


def prepare_renderer(renderer: str = "auto") -> None:
    """Import textual-image (it probes the terminal) before `App.run()`; then fix the tmux title."""
    if renderer == "off":
        return
    import textual_image.widget  # noqa: F401  (the import runs the probe)

    tmux.reset_pane_title()


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


def load_thumbnail(path: Path, box: tuple[int, int]) -> PILImage.Image:
    """Decode `path`, upright, shrunk to fit `box` pixels (textual-image never downscales first)."""
    with PILImage.open(path) as img:
        img.draft("RGB", box)  # JPEG: decode at a reduced scale when possible
        img = ImageOps.exif_transpose(img)
        img.thumbnail(box)
        if img.mode not in ("RGB", "RGBA"):
            img = img.convert("RGBA")
        img.load()
        return img


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
    if sidecar.exists():
        try:
            data = json.loads(sidecar.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            return Text(f"Unreadable metadata in {sidecar.name}: {one_line(exc)}", style="italic")
        if not isinstance(data, dict):
            return Text(f"Unreadable metadata in {sidecar.name}: not a JSON object", style="italic")
    try:
        meta = history.metadata(image)
    except ImagenTuiError as exc:
        return Text(f"No metadata: {exc.message}", style="italic")
    if not meta.get("prompt") and not sidecar.exists():
        return Text(f"No metadata: {sidecar.name} not found.", style="italic")
    text = Text()
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

    class Loaded(Message):
        """A thread worker finished decoding `path` (`image` or `error` is set)."""

        def __init__(self, path: Path, image: PILImage.Image | None, error: str | None) -> None:
            super().__init__()
            self.path = path
            self.image = image
            self.error = error

    def __init__(
        self,
        image: Path,
        renderer: str = "auto",
        siblings: list[Path] | None = None,
        history: HistoryStore | None = None,
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
        self.pil_image: PILImage.Image | None = None
        self._box = (0, 0)

    @property
    def current(self) -> Path:
        """The image on screen."""
        return self.images[self.index]

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="body"):
            with Container(id="stage"):
                yield self._make_image_widget()
                yield Static(id="notice", markup=False)
            with VerticalScroll(id="meta"):
                yield Static(id="meta-body", markup=False)
        yield Footer()

    def _make_image_widget(self) -> Widget:
        if self.renderer == "off":
            return Static(id="image", classes="-off")
        import textual_image.widget as ti_widget

        return getattr(ti_widget, _WIDGET_NAMES[self.renderer])(id="image")

    def on_mount(self) -> None:
        self._show_current()

    def on_resize(self, event: Resize) -> None:
        box = self._pixel_box()
        if self.renderer != "off" and (box[0] > self._box[0] or box[1] > self._box[1]):
            self._request_load()

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
        self.title = f"{path.name} ({self.index + 1}/{len(self.images)})"
        self.title = visible(self.title)
        self.query_one("#meta-body", Static).update(metadata_text(path, self.history))
        if self.renderer == "off":
            self._set_notice(f"Preview is off (renderer: off). {path.name}", error=False)
        else:
            self._request_load()

    def _pixel_box(self) -> tuple[int, int]:
        try:
            from textual_image._terminal import get_cell_size

            cell = get_cell_size()
            cell_w, cell_h = cell.width, cell.height
        except Exception:  # private API or no terminal: assume the VT340 default
            cell_w, cell_h = 10, 20
        return (max(1, self.size.width * cell_w), max(1, self.size.height * cell_h))

    def _request_load(self) -> None:
        self._box = self._pixel_box()
        self._load(self.current, self._box)

    @work(thread=True, exclusive=True, group="load", exit_on_error=False)
    def _load(self, path: Path, box: tuple[int, int]) -> None:
        try:
            image, error = load_thumbnail(path, box), None
        except Exception as exc:  # any decoder failure becomes a message, never a crash
            image, error = None, f"{type(exc).__name__}: {exc}".splitlines()[0]
        if not get_current_worker().is_cancelled:
            self.post_message(self.Loaded(path, image, error))

    def on_viewer_app_loaded(self, message: Loaded) -> None:
        if message.path != self.current:
            return  # a stale result from before a key press
        widget = self.query_one("#image")
        self.pil_image = message.image
        widget.image = message.image  # type: ignore[attr-defined]
        if message.error is not None:
            self._set_notice(f"Cannot open {message.path.name}: {message.error}", error=True)
        else:
            self.query_one("#notice").display = False
            widget.display = True

    def _set_notice(self, text: str, *, error: bool) -> None:
        notice = self.query_one("#notice", Static)
        notice.update(Text(text))
        notice.set_class(error, "-error")
        notice.display = True
        self.query_one("#image").display = False


def run_viewer(path: Path, renderer: str = "auto") -> int:
    """Entry point for `imagen-tui view PATH`; returns the process exit code."""
    path = Path(path)
    if not path.is_file():
        print(f"imagen-tui view: no such image: {path}", file=sys.stderr)
        return 2
    try:
        app = ViewerApp(path.absolute(), renderer=renderer)
    except ValueError as exc:
        print(f"imagen-tui view: {exc}", file=sys.stderr)
        return 2
    prepare_renderer(renderer)
    app.run()
    return 0
