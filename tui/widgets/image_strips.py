"""Turn a prepared picture into Textual `Strip`s: half-cell, unicode shades, kitty, sixel.

Every function returns exactly `rows` strips of exactly `width` cells (the widget's box), so a
picture never reaches past its box. Shapes: `width`/`rows` in cells, images in pixels.
"""

from __future__ import annotations

from PIL import Image
from rich.color import Color
from rich.control import Control
from rich.segment import ControlType, Segment
from rich.style import Style
from textual.strip import Strip

from imagen_tui.tui.graphics import kitty

SHADES = " ░▒▓█"  # darkest to brightest
_NULL = Style()


def _centre(lines: list[Strip], width: int, rows: int, style: Style) -> list[Strip]:
    """Pad `lines` (each at most `width`) to a `width`×`rows` box, centred."""
    top = max(0, (rows - len(lines)) // 2)
    out = [Strip.blank(width, style) for _ in range(top)]
    for line in lines[: rows - top]:
        left = max(0, (width - line.cell_length) // 2)
        right = max(0, width - left - line.cell_length)
        out.append(Strip([Segment(" " * left, style), *line, Segment(" " * right, style)], width))
    out += [Strip.blank(width, style) for _ in range(rows - len(out))]
    return out


def halfcell_strips(image: Image.Image, width: int, rows: int, background: Style) -> list[Strip]:
    """`image` (already cols × 2·lines px, RGB) as `▀` cells, centred in `width`×`rows`."""
    rgb = image.convert("RGB")
    w, h = rgb.size
    data = rgb.tobytes()
    colours: dict[bytes, Color] = {}

    def colour(offset: int) -> Color:
        key = data[offset : offset + 3]
        if key not in colours:
            colours[key] = Color.from_rgb(key[0], key[1], key[2])
        return colours[key]

    lines = []
    for y in range(0, h - 1, 2):
        top, bottom = y * w * 3, (y + 1) * w * 3
        segments = [
            Segment("▀", Style(color=colour(top + 3 * x), bgcolor=colour(bottom + 3 * x)))
            for x in range(w)
        ]
        lines.append(Strip(segments, w))
    return _centre(lines, width, rows, background)


def unicode_strips(image: Image.Image, width: int, rows: int, style: Style) -> list[Strip]:
    """`image` (cols × lines px) as grey shade characters, centred in `width`×`rows`."""
    grey = image.convert("L")
    w, h = grey.size
    data = grey.tobytes()
    step = 256 / len(SHADES)
    lines = [
        Strip([Segment("".join(SHADES[int(v / step)] for v in data[y * w : (y + 1) * w]), style)])
        for y in range(h)
    ]
    return _centre(lines, width, rows, style)


def placeholder_strips(
    image_id: int, cols: int, lines: int, width: int, rows: int, truecolor: bool, bg: Style
) -> list[Strip]:
    """kitty placeholder cells for `image_id` (cols×lines), centred in `width`×`rows`.

    The foreground colour carries the id (see `kitty.id_colour`); the background is `bg`'s.
    """
    r, g, b = kitty.id_colour(image_id, truecolor)
    style = bg + Style(color=Color.from_rgb(r, g, b))
    cells = kitty.placeholder_rows(image_id, cols, lines)
    return _centre([Strip([Segment(text, style)], cols) for text in cells], width, rows, bg)


def sixel_strips(
    data: str, x: int, y: int, width: int, rows: int, background: Style
) -> list[Strip]:
    """Strips that draw sixel `data` with its top-left at screen cell (x, y).

    All lines but the last are empty, so Textual leaves the picture's cells alone; the last line
    first clears its row, then moves to (x, y), draws the picture and moves to the end of the
    box. The picture itself must already fit the box (see `sixel.encode`).
    """
    if rows <= 0 or width <= 0:
        return []
    segments = [
        Segment(" " * width, background),
        Segment(Control.move_to(x, y).segment.text, _NULL),
        Segment(data, _NULL, ((ControlType.CURSOR_FORWARD, 0),)),
        Segment(Control.move_to(x + width, y + rows - 1).segment.text, _NULL),
    ]
    return [Strip([], width)] * (rows - 1) + [Strip(segments, width)]


def message_strips(text: str, width: int, rows: int, style: Style) -> list[Strip]:
    """`text` (already printable) centred in the box, cut to `width`."""
    line = Strip([Segment(text[:width], style)])
    return _centre([line], width, rows, style)
