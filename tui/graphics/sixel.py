"""Sixel encoder whose picture never reaches past its box.

Protocol facts (DEC VT330/VT340 Programmer Reference, ch. 14 "Sixel Graphics",
https://vt100.net/docs/vt3xx-gp/chapter14.html; checked against xterm 379 ``-ti vt340`` here by
tests/e2e/test_preview_xterm.py, 2026-11-30):

* ``ESC P P1;P2;P3 q`` starts the image and ``ESC \\`` ends it. ``"1;1;W;H`` (raster
  attributes) declares square pixels and the W×H size. ``#n;2;r;g;b`` defines colour register
  ``n`` in percent (0..100); ``#n`` selects it.
* Each data character ``?``..``~`` (63 + bits) paints one column of six vertical pixels, bit 0
  on top; ``!count c`` repeats ``c``; ``$`` returns to the band's left edge for the next colour
  and ``-`` moves down to the next band of six rows.

Why the height is a multiple of six and within the box: a band always paints six rows, so a
picture 532 px tall is drawn 534 px tall. xterm then puts the text cursor on the last cell row
the picture touched and scrolls the whole screen when that row is below the bottom margin
(xterm graphics_sixel.c, ``finished_parsing``, snapshot 2026-05-01). So a picture that ends one
pixel inside the next row, on the last row of the screen, scrolls everything up by one line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from PIL import Image

from imagen_tui.tui.graphics.fit import fit_pixels, flatten

BAND = 6  # pixel rows per sixel band
_TO_CHAR = bytes((i + 63) if i < 64 else 63 for i in range(256))
_RUN = re.compile(r"(.)\1{3,}")


@dataclass(frozen=True)
class Sixel:
    """An encoded picture: `data` is the full DCS string; `width`/`height` its pixel size."""

    data: str
    width: int
    height: int
    colours: int


@lru_cache(maxsize=256)
def _one_hot(index: int) -> bytes:
    table = bytearray(256)
    table[index] = 1
    return bytes(table)


def _rle(chars: str) -> str:
    return _RUN.sub(lambda m: f"!{len(m.group(0))}{m.group(1)}", chars)


def _band(rows: list[bytes], width: int, skip: str) -> list[str]:
    """One band's `#colour` runs; `skip` (e.g. ``!40?``) jumps over a left margin."""
    parts = []
    for colour in sorted(set(rows[0]).union(*rows[1:])):
        acc = 0
        for bit, row in enumerate(rows):  # each byte holds 0/1 << bit: no carries
            if colour in row:
                acc |= int.from_bytes(row.translate(_one_hot(colour)), "big") << bit
        chars = acc.to_bytes(width, "big").translate(_TO_CHAR).rstrip(b"?").decode("ascii")
        parts.append(f"#{colour}{skip}{_rle(chars)}")
    return parts


def _bands(raw: bytes, width: int, height: int, frame: Frame) -> list[str]:
    """Every band of the canvas: margins in the background register, picture bands between."""
    full = f"#{frame.bg}!{frame.width}~"
    margin = f"#{frame.bg}!{frame.left}~" if frame.left else ""
    right = frame.width - frame.left - width
    margin += f"!{width}?!{right}~" if right > 0 else ""
    skip = f"!{frame.left}?" if frame.left else ""
    bands = [full] * (frame.top // BAND)
    for top in range(0, height, BAND):
        rows = [raw[(top + k) * width : (top + k + 1) * width] for k in range(BAND)]
        bands.append("$".join(([margin] if margin else []) + _band(rows, width, skip)))
    bands += [full] * ((frame.height - frame.top - height) // BAND)
    return bands


@dataclass(frozen=True)
class Frame:
    """The canvas (width, height px) a picture sits in at (left, top); `bg` its register."""

    width: int
    height: int
    left: int
    top: int
    bg: int


def _register(index: int, rgb: tuple[int, int, int] | list[int]) -> str:
    r, g, b = rgb
    return f"#{index};2;{r * 100 // 255};{g * 100 // 255};{b * 100 // 255}"


def _palette(flat: list[int], used: list[int]) -> str:
    return "".join(_register(i, flat[3 * i : 3 * i + 3]) for i in used)


def sixel_size(image_px: tuple[int, int], box_px: tuple[int, int]) -> tuple[int, int]:
    """Pixel size of the encoded picture: fits `box_px`, height a multiple of 6.

    Raises ValueError when the box is less than 6 px tall or 1 px wide.
    """
    if box_px[1] < BAND or box_px[0] < 1:
        raise ValueError(f"a sixel needs a box of at least 1x{BAND} px, got {box_px}")
    w, h = fit_pixels(image_px, box_px)
    return w, max(BAND, h - h % BAND)


def encode(
    image: Image.Image,
    box_px: tuple[int, int],
    *,
    colours: int = 255,
    background: tuple[int, int, int] = (0, 0, 0),
    fill: bool = False,
) -> Sixel:
    """Encode `image` scaled to fit `box_px` (w, h in pixels) with at most `colours` colours.

    The result is at most `box_px` and its height is a multiple of 6. With `fill`, the picture
    is centred on a `background` canvas as wide as the box (and as tall, rounded down to 6), so
    it also paints over whatever the box showed before. Transparency is flattened onto
    `background`. Raises ValueError for a box under 1×6 px or `colours` outside 2..255
    (register 255 is kept for the background).
    """
    if not 2 <= colours <= 255:
        raise ValueError(f"colours must be 2..255, got {colours}")
    w, h = sixel_size(image.size, box_px)
    picture = flatten(image, background).resize((w, h), Image.Resampling.LANCZOS)
    indexed = picture.quantize(colours, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
    used = sorted({c for _n, c in indexed.getcolors(256) or []})
    frame = Frame(w, h, 0, 0, 255)
    palette = _palette(indexed.getpalette() or [], used)
    if fill:
        canvas_h = box_px[1] - box_px[1] % BAND
        top = (canvas_h - h) // 2 // BAND * BAND
        frame = Frame(box_px[0], canvas_h, (box_px[0] - w) // 2, top, 255)
        palette += _register(255, background)
    body = "-".join(_bands(indexed.tobytes(), w, h, frame))
    data = f'\x1bP0;1;0q"1;1;{frame.width};{frame.height}{palette}{body}\x1b\\'
    return Sixel(data=data, width=frame.width, height=frame.height, colours=len(used) + fill)
