"""Sixel encoder whose picture never reaches past its box.

Protocol facts (DEC STD 070 / VT330-VT340 Programmer Reference, ch. 14 "Sixel Graphics",
https://vt100.net/docs/vt3xx-gp/chapter14.html, read 2026-11-29):

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


def _planes(raw: bytes, width: int, height: int) -> list[bytes]:
    # plane k holds pixel row k of every band, band after band
    return [
        b"".join(raw[y * width : (y + 1) * width] for y in range(k, height, BAND))
        for k in range(BAND)
    ]


def _colour_sixels(planes: list[bytes], colour: int, size: int) -> bytes:
    acc = 0
    for bit, plane in enumerate(planes):  # each byte holds 0/1 << bit: no carries
        acc |= int.from_bytes(plane.translate(_one_hot(colour)), "big") << bit
    return acc.to_bytes(size, "big").translate(_TO_CHAR)


def _bands(raw: bytes, width: int, height: int, used: list[int]) -> list[str]:
    planes = _planes(raw, width, height)
    sixels = {c: _colour_sixels(planes, c, len(planes[0])) for c in used}
    bands = []
    for top in range(0, height, BAND):
        start = (top // BAND) * width
        present = sorted(set(raw[top * width : (top + BAND) * width]))
        parts = []
        for colour in present:
            chars = sixels[colour][start : start + width].rstrip(b"?").decode("ascii")
            parts.append(f"#{colour}{_rle(chars)}")
        bands.append("$".join(parts))
    return bands


def _palette(image: Image.Image, used: list[int]) -> str:
    flat = image.getpalette() or []
    defs = []
    for i in used:
        r, g, b = flat[3 * i : 3 * i + 3]
        defs.append(f"#{i};2;{r * 100 // 255};{g * 100 // 255};{b * 100 // 255}")
    return "".join(defs)


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
    `background`. Raises ValueError for a box under 1×6 px or `colours` outside 2..256.
    """
    if not 2 <= colours <= 256:
        raise ValueError(f"colours must be 2..256, got {colours}")
    w, h = sixel_size(image.size, box_px)
    picture = flatten(image, background).resize((w, h), Image.Resampling.LANCZOS)
    if fill:
        canvas = Image.new("RGB", (box_px[0], box_px[1] - box_px[1] % BAND), background)
        canvas.paste(picture, ((canvas.width - w) // 2, (canvas.height - h) // 2))
        picture, (w, h) = canvas, canvas.size
    indexed = picture.quantize(colours, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
    raw = indexed.tobytes()
    used = sorted({c for _n, c in indexed.getcolors(256) or []})
    body = "-".join(_bands(raw, w, h, used))
    data = f'\x1bP0;1;0q"1;1;{w};{h}{_palette(indexed, used)}{body}\x1b\\'
    return Sixel(data=data, width=w, height=h, colours=len(used))
