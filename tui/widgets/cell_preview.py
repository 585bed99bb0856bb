"""A fast image preview drawn with half-cell blocks, importing nothing from textual-image.

Each cell is `▀` with the upper pixel as foreground and the lower as background, so a box of
W×H cells shows W×2H pixels. Building a 40×20 preview takes ~3.7 ms (measured 2026-11-29,
shared/reference/textual-and-tmux.md §2) and costs no terminal probe, which keeps start-up and
key-to-preview fast. It is the seam for `widgets/image_preview.ImagePreview` (kitty/sixel): both
have `renderer` and `show(path_or_pil)`; `make_preview` picks one.
"""

from __future__ import annotations

import sys
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING

from rich.color import Color
from rich.segment import Segment
from rich.style import Style
from textual import work
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.widget import Widget
from textual.worker import get_current_worker

from imagen_tui.tui.text import safe
from imagen_tui.tui.widgets.worker_errors import ReportsWorkerErrors

if TYPE_CHECKING:
    from PIL import Image

RENDERERS = ("auto", "kitty", "sixel", "halfcell", "unicode", "off")
BUILT_CELLS_KEPT = 50_000  # cells of built previews kept for revisits (~180 B a cell in a photo)


def fit(size: tuple[int, int], box: tuple[int, int]) -> tuple[int, int]:
    """Largest (w, h) with `size`'s aspect ratio inside `box`, each at least 1 (pixels)."""
    width, height = size
    scale = min(box[0] / max(1, width), box[1] / max(1, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def halfcell_strips(image: Image.Image, cells: tuple[int, int]) -> list[Strip]:
    """`image` fitted into `cells` (columns, rows) as one Strip per row, centred, 2 px per cell.

    Styles are made with `Style.from_color` (rich's fast path) and shared per colour pair within
    one build: `Style(color=Color.from_rgb(...))` per cell cost ~60 ms for a 46x20 box here.
    Runs of equal cells become one segment.
    """
    columns, rows = cells
    if columns < 1 or rows < 1:
        return []
    width, height = fit(image.size, (columns, rows * 2))
    height += height % 2
    from PIL import Image  # loaded by then: `image` is one

    pixels = image.convert("RGB").resize((width, height), Image.Resampling.BILINEAR)
    data = pixels.tobytes()
    pad_left = (columns - width) // 2
    top_pad = (rows - height // 2) // 2
    colours: dict[bytes, Color] = {}
    styles: dict[tuple[bytes, bytes], Style] = {}

    def colour(rgb: bytes) -> Color:
        found = colours.get(rgb)
        if found is None:
            found = colours[rgb] = Color.from_rgb(rgb[0], rgb[1], rgb[2])
        return found

    blank = Strip.blank(columns)
    strips = [blank] * top_pad
    row_bytes = width * 3
    for y in range(0, height, 2):
        upper = data[y * row_bytes : (y + 1) * row_bytes]
        lower = data[(y + 1) * row_bytes : (y + 2) * row_bytes]
        segments = [Segment(" " * pad_left)] if pad_left else []
        run_style, run = None, 0  # equal neighbours share one segment: Textual's per-line
        for x in range(0, row_bytes, 3):  # work (style, crop, filters) is per segment
            key = (upper[x : x + 3], lower[x : x + 3])
            style = styles.get(key)
            if style is None:
                style = styles[key] = Style.from_color(colour(key[0]), colour(key[1]))
            if style is run_style:
                run += 1
                continue
            if run:
                segments.append(Segment("▀" * run, run_style))
            run_style, run = style, 1
        if run:
            segments.append(Segment("▀" * run, run_style))
        strips.append(Strip(segments).adjust_cell_length(columns))
    return strips + [blank] * (rows - len(strips))


class BuiltStrips:
    """The half-cell strips of recently shown images, so that showing one again (moving back
    through history) costs no rebuild: a least-recently-used cache bounded in cells.

    Keyed by image identity: PIL images are unhashable, and each entry keeps its image alive,
    so an `id` is never reused while its entry exists.
    """

    def __init__(self, max_cells: int) -> None:
        self.max_cells = max_cells
        self.cells = 0
        self._entries: OrderedDict[int, tuple[Image.Image, tuple[int, int], list[Strip]]] = (
            OrderedDict()
        )

    def get(self, image: Image.Image, cells: tuple[int, int]) -> list[Strip]:
        """The strips of `image` in a box of `cells` (columns, rows): kept ones, or built now."""
        key = id(image)
        entry = self._entries.get(key)
        if entry is not None and entry[0] is image and entry[1] == cells:
            self._entries.move_to_end(key)
            return entry[2]
        strips = halfcell_strips(image, cells)
        self._drop(key)
        self._entries[key] = (image, cells, strips)
        self.cells += cells[0] * cells[1]
        while self.cells > self.max_cells and len(self._entries) > 1:
            self._drop(next(iter(self._entries)))
        return strips

    def _drop(self, key: int) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self.cells -= entry[1][0] * entry[1][1]


class CellPreview(ReportsWorkerErrors, Widget):
    """Shows one image (or a one-line notice) in its box. `show()` accepts a path or PIL image."""

    DEFAULT_CSS = """
    CellPreview { width: 1fr; height: 1fr; color: $text-muted; }
    """

    def __init__(
        self,
        renderer: str = "auto",
        *,
        id: str | None = None,  # noqa: A002 (Textual's signature)
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.renderer = renderer if renderer in RENDERERS else "auto"
        self.image: Image.Image | None = None
        self.notice = "No image selected." if self.renderer != "off" else "Preview is off."
        self._strips: list[Strip] = []
        self._built_for: tuple[int, int] = (0, 0)
        self._built = BuiltStrips(BUILT_CELLS_KEPT)

    def set_renderer(self, renderer: str) -> None:
        """Switch renderer (the config is read after the first frame); `off` shows a notice."""
        self.renderer = renderer if renderer in RENDERERS else "auto"
        if self.renderer == "off":
            self.show(None)

    def show(self, source: Image.Image | Path | str | None) -> None:
        """Display `source`: a PIL image at once, a path after decoding it in a worker."""
        if self.renderer == "off":
            self.image = None
            self.notice = "Preview is off."
        elif source is None:
            self.image, self.notice = None, "No image selected."
        elif isinstance(source, Path | str):
            self._decode(Path(source))
            return
        else:  # a PIL image (PIL is imported only once there is one)
            self._replace_image(source)
            return
        self._strips, self._built_for = [], (0, 0)
        self.refresh()

    def _replace_image(self, image: Image.Image) -> None:
        """Show `image`, redrawing only the rows that differ from the picture on screen (the
        padding rows of two pictures of one shape are equal): Textual's work is per row."""
        size = (self.size.width, self.size.height)
        shown = self._strips if self.image is not None and self._built_for == size else None
        self.image, self.notice = image, ""
        if shown is None or not size[0] or not size[1]:
            self._strips, self._built_for = [], (0, 0)
            self.refresh()
            return
        self._strips, self._built_for = self._built.get(image, size), size
        changed = [
            Region(0, y, size[0], 1)
            for y in range(size[1])
            if (shown[y] if y < len(shown) else None)
            != (self._strips[y] if y < len(self._strips) else None)
        ]
        if changed:
            self.refresh(*changed)

    def show_notice(self, text: str) -> None:
        """Replace the image with a one-line message (e.g. why it cannot be shown)."""
        self.image, self.notice = None, safe(text)
        self._strips, self._built_for = [], (0, 0)
        self.refresh()

    @work(thread=True, group="preview-decode", exclusive=True, exit_on_error=False)
    def _decode(self, path: Path) -> None:
        try:
            from PIL import Image

            with Image.open(path) as im:
                im.draft("RGB", (self.size.width * 2 or 160, self.size.height * 4 or 80))
                im.thumbnail((max(8, self.size.width * 2), max(8, self.size.height * 4)))
                image = im.convert("RGB")
        except Exception as exc:  # any decoder failure is shown, never raised
            if not get_current_worker().is_cancelled:
                self.app.call_from_thread(self.show_notice, f"Cannot show {path.name}: {exc}")
            return
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self.show, image)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return container.height

    def render_line(self, y: int) -> Strip:
        width, height = self.size
        if self.image is None:
            # `visual_style` is cached per style change; `rich_style` walks every ancestor on
            # each call (~0.4 ms a line here, most of the first frame's preview cost).
            style = self.visual_style.rich_style
            if y == height // 2:
                return Strip([Segment(self.notice[:width], style)]).adjust_cell_length(width, style)
            return Strip.blank(width, style)
        if self._built_for != (width, height):
            self._strips = self._built.get(self.image, (width, height))
            self._built_for = (width, height)
        return self._strips[y] if y < len(self._strips) else Strip.blank(width)


def make_preview(
    renderer: str,
    *,
    id: str | None = None,  # noqa: A002 (Textual's signature)
    classes: str | None = None,
) -> CellPreview:
    """The preview widget: `ImagePreview` (kitty placeholders, sixel; also through tmux) when
    the terminal was found to draw real pixels, else this fast half-cell one (no probe, ~4 ms a
    frame), which is what ImagePreview itself would fall back to."""
    # A kitty/sixel decision only exists through `ImagePreview.configure()` (before App.run());
    # when that module was never imported there is none, and importing it (PIL, kitty, sixel:
    # ~45 ms of the first frame here) would only tell us so.
    module = sys.modules.get("imagen_tui.tui.widgets.image_preview")
    decided = module.ImagePreview.decided_renderer() if module is not None else None
    if decided in ("kitty", "sixel") and renderer in ("auto", "kitty", "sixel"):
        return module.ImagePreview(renderer=renderer, id=id, classes=classes)  # type: ignore[union-attr, no-any-return]
    return CellPreview(renderer, id=id, classes=classes)
