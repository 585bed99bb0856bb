"""Fit an image into a box of terminal cells, and downscale it once to that box.

Sizes are (width, height): cells for boxes and placements, pixels for images and cells.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image

DEFAULT_CELL = (10, 20)  # px; the VT340 cell, used when the terminal does not say


def fit_cells(
    image_px: tuple[int, int], box: tuple[int, int], cell_px: tuple[int, int]
) -> tuple[int, int]:
    """The largest (cols, rows) inside `box` that keeps `image_px`'s aspect, at least 1×1."""
    (iw, ih), (bw, bh), (cw, ch) = image_px, box, cell_px
    if min(iw, ih, bw, bh, cw, ch) <= 0:
        return (max(0, min(bw, 1)), max(0, min(bh, 1)))
    scale = min(bw * cw / iw, bh * ch / ih)
    cols = max(1, min(bw, round(iw * scale / cw)))
    rows = max(1, min(bh, round(ih * scale / ch)))
    return cols, rows


def fit_pixels(image_px: tuple[int, int], box_px: tuple[int, int]) -> tuple[int, int]:
    """The largest (w, h) inside `box_px` keeping `image_px`'s aspect (may upscale), ≥ 1×1."""
    (iw, ih), (bw, bh) = image_px, box_px
    scale = min(bw / max(1, iw), bh / max(1, ih))
    return max(1, min(bw, round(iw * scale))), max(1, min(bh, round(ih * scale)))


def open_image(source: Image.Image | str | Path, box_px: tuple[int, int]) -> Image.Image:
    """Decode `source` upright as RGB(A), shrunk (never enlarged) to fit `box_px`.

    Raises OSError (or Pillow's UnidentifiedImageError, a subclass) when it cannot be read.
    """
    if isinstance(source, Image.Image):
        image = source.copy()
    else:
        from imagen_tui.backends import open_for_display

        # The one decoder for display: 16-bit tones, palettes, orientation, first frames, huge
        # files shrunk while decoding, pixel limits checked from the header first.
        try:
            return open_for_display(source, max(1, box_px[0]), max(1, box_px[1]))
        except ValueError as exc:
            raise OSError(str(exc)) from None
    image.thumbnail((max(1, box_px[0]), max(1, box_px[1])), Image.Resampling.LANCZOS)
    if image.mode not in ("RGB", "RGBA"):
        image = image.convert("RGBA" if "A" in image.getbands() or "transparency" in image.info
                              else "RGB")  # fmt: skip
    return image


def flatten(image: Image.Image, background: tuple[int, int, int]) -> Image.Image:
    """`image` as RGB, transparent parts composited over `background`."""
    if image.mode == "RGB":
        return image
    rgba = image.convert("RGBA")
    base = Image.new("RGB", rgba.size, background)
    base.paste(rgba, mask=rgba.getchannel("A"))
    return base
