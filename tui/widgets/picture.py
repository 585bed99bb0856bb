"""Prepare a picture for `ImagePreview` in a worker thread: decode, downscale, encode.

No DOM access here: the result is plain data (`Strip`s and escape-sequence strings).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PIL import Image
from rich.style import Style
from textual.strip import Strip

from imagen_tui.tui.graphics import kitty, sixel
from imagen_tui.tui.graphics.fit import fit_cells, flatten, open_image
from imagen_tui.tui.widgets import image_strips

Source = Image.Image | str | Path


@dataclass(frozen=True)
class Context:
    """What the worker needs from the widget, captured on the main thread."""

    cell: tuple[int, int]  # px per cell (w, h)
    colours: str | None  # the console's colour system: "truecolor", "256", "standard"…
    background: Style  # the widget's style; its bgcolor letterboxes the picture
    passthrough: bool  # wrap kitty commands for tmux
    ids: kitty.ImageIds


@dataclass
class Picture:
    """A prepared picture for one box: `lines` to draw, plus the kitty or sixel payload."""

    renderer: str
    box: tuple[int, int]  # (width, rows) in cells it was made for
    lines: list[Strip] | None = None  # halfcell, unicode, kitty placeholders
    sixel: str | None = None
    kitty_id: int | None = None
    kitty_wire: str | None = None  # transmit + placement, wrapped for tmux when needed


def _background(ctx: Context) -> tuple[int, int, int]:
    colour = ctx.background.bgcolor
    return tuple(colour.get_truecolor()) if colour else (0, 0, 0)  # type: ignore[return-value]


def _sixel(image: Image.Image, box: tuple[int, int], ctx: Context) -> Picture:
    box_px = (box[0] * ctx.cell[0], box[1] * ctx.cell[1])
    encoded = sixel.encode(image, box_px, background=_background(ctx), fill=True)
    return Picture("sixel", box, sixel=encoded.data)


def _kitty(image: Image.Image, box: tuple[int, int], ctx: Context) -> Picture:
    if ctx.colours not in ("truecolor", "256"):
        raise ValueError(f"placeholders need 256 colours; the screen has {ctx.colours}")
    cols, lines = fit_cells(image.size, box, ctx.cell)
    image_id = ctx.ids.allocate()
    commands = kitty.transmit_commands(image_id, kitty.png_bytes(image), cols, lines)
    truecolor = ctx.colours == "truecolor"
    strips = image_strips.placeholder_strips(image_id, cols, lines, *box, truecolor, ctx.background)
    wire = kitty.wire(commands, ctx.passthrough)
    return Picture("kitty", box, lines=strips, kitty_id=image_id, kitty_wire=wire)


def _unicode(image: Image.Image, box: tuple[int, int], ctx: Context) -> Picture:
    cols, lines = fit_cells(image.size, box, ctx.cell)
    small = image.resize((cols, lines), Image.Resampling.BOX)
    return Picture("unicode", box, lines=image_strips.unicode_strips(small, *box, ctx.background))


def _halfcell(image: Image.Image, box: tuple[int, int], ctx: Context) -> Picture:
    cols, lines = fit_cells(image.size, box, ctx.cell)
    small = flatten(image, _background(ctx)).resize((cols, 2 * lines), Image.Resampling.BOX)
    return Picture("halfcell", box, lines=image_strips.halfcell_strips(small, *box, ctx.background))


BUILDERS = {"sixel": _sixel, "kitty": _kitty, "unicode": _unicode, "halfcell": _halfcell}


def build_picture(source: Source, renderer: str, box: tuple[int, int], ctx: Context) -> Picture:
    """Decode `source`, downscale it to the `box` (width, rows cells) and encode for `renderer`.

    Runs in a worker thread. Raises OSError for unreadable images, ValueError when the box or
    the screen cannot carry the renderer (the widget then falls back to half-cells).
    """
    image = open_image(source, (box[0] * ctx.cell[0], box[1] * ctx.cell[1]))
    return BUILDERS[renderer](image, box, ctx)
