"""Decode any image a user may browse into a small RGB/RGBA picture for the screen.

`open_for_display` is the one door for thumbnails and previews. It copes with what image
folders really hold: text chunks past Pillow's 1 MB limit (ComfyUI workflows), 16-bit greyscale
(shown with its real tones, not clipped to white), palette and CMYK images, EXIF orientation,
animations (first frame), and huge upscales: JPEGs are decoded at 1/2..1/8 scale by libjpeg
(`draft`), other formats are decoded once and shrunk with `reduce` before any mode conversion,
so full-size pixels are never held twice. Pillow's own decompression-bomb check is replaced by
an explicit limit (MAX_PIXELS) checked from the header before anything is decoded.
"""

from __future__ import annotations

import io
import struct
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from PIL import Image

MAX_PIXELS = 200_000_000  # decoded at once: 200 MP is 600 MB RGB, 800 MB RGBA
MAX_JPEG_PIXELS = 64 * MAX_PIXELS  # a JPEG is decoded at up to 1/8 per side (1/64 the pixels)
_PREMULTIPLY_LIMIT = 16_000_000  # above this, RGBA is shrunk without Pillow's premultiplied copy
_TEXT_TYPES = (b"tEXt", b"zTXt", b"iTXt")
_ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error, MemoryError)
_OPEN_LOCK = threading.Lock()


class ImageUnreadable(ValueError):
    """An image file that cannot be shown: `path`, and `reason` (one line, for the user)."""

    def __init__(self, path: Path | str, reason: str) -> None:
        self.path = Path(path)
        self.reason = " ".join(str(reason).split())
        super().__init__(f"cannot read image {self.path.name}: {self.reason}")


@contextmanager
def quiet_pillow() -> Iterator[None]:
    """Silence Pillow's UserWarnings (corrupt EXIF, truncated reads) for a block: a damaged
    file is reported through our errors, and a warning printed on stderr would tear a TUI."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        yield


def open_unchecked(source: Path | IO[bytes]) -> Image.Image:
    """Lazy `Image.open` without Pillow's pixel-count check: callers check MAX_PIXELS first."""
    with _OPEN_LOCK:
        saved, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
        try:
            return Image.open(source)
        finally:
            Image.MAX_IMAGE_PIXELS = saved


def _without_text_chunks(path: Path) -> IO[bytes]:
    """The PNG at `path` minus its text chunks, for Pillow to open when they exceed its limits."""
    data = path.read_bytes()
    parts, pos = [data[:8]], 8
    while pos + 12 <= len(data):
        length, ctype = struct.unpack_from(">I4s", data, pos)
        end = pos + 12 + length
        if ctype not in _TEXT_TYPES:
            parts.append(data[pos:end])
        pos = end
    return io.BytesIO(b"".join(parts))


def _box_for(im: Image.Image, box: tuple[int, int], orientation: int) -> tuple[int, int]:
    """The display box in the stored image's own orientation."""
    return (box[1], box[0]) if orientation in (5, 6, 7, 8) else box


def _shrink(im: Image.Image, box: tuple[int, int]) -> Image.Image:
    """`im` made smaller by an integer factor while still covering `box`, if that is cheap."""
    factor = min(im.width // box[0], im.height // box[1])
    if factor < 2:
        return im
    if im.mode in ("LA", "RGBA") and im.width * im.height > _PREMULTIPLY_LIMIT:
        size = (max(1, im.width // factor), max(1, im.height // factor))
        return im.resize(size, Image.Resampling.NEAREST)
    try:
        return im.reduce(factor)
    except ValueError:  # modes reduce() refuses (P, 1, I;16): shrink after conversion
        return im


def _sixteen_bit_to_l(im: Image.Image) -> Image.Image:
    """16-bit greyscale to 8-bit by its real scale (round(v / 257)), not clipped at 255."""
    return im.convert("I").point(lambda v: v / 257 + 0.5).convert("L")


def _float_to_l(im: Image.Image) -> Image.Image:
    """32-bit int or float greyscale, stretched from its own range to 0..255."""
    lo, hi = im.getextrema()
    if isinstance(lo, tuple) or isinstance(hi, tuple):  # several bands: only I and F come here
        return im.convert("L")
    scale = 255 / (hi - lo) if hi != lo else 0
    return im.point(lambda v: (v - lo) * scale).convert("L")


def _display_mode(im: Image.Image) -> Image.Image:
    """`im` as RGB, or RGBA when it has transparency."""
    if im.mode in ("RGB", "RGBA"):
        return im
    if im.mode.startswith("I;16"):
        return _sixteen_bit_to_l(im).convert("RGB")
    if im.mode in ("I", "F"):
        return _float_to_l(im).convert("RGB")
    alpha = im.mode in ("LA", "PA", "La", "RGBa") or "transparency" in im.info
    return im.convert("RGBA" if alpha else "RGB")


def _check_pixels(path: Path, width: int, height: int, limit: int) -> None:
    if width * height > limit:
        reason = f"{width}x{height} is over the limit of {limit // 1_000_000} megapixels"
        raise ImageUnreadable(path, reason)


def _decode(path: Path, src: Image.Image, box: tuple[int, int]) -> Image.Image:
    orientation = src.getexif().get(0x0112, 1) if src.format in ("JPEG", "WEBP", "PNG") else 1
    stored_box = _box_for(src, box, orientation)
    if src.format == "JPEG":
        src.draft("RGB" if src.mode == "RGB" else None, stored_box)
    _check_pixels(path, src.width, src.height, MAX_PIXELS)
    src.load()
    im = _shrink(_display_mode(_shrink(src, stored_box)), stored_box)
    if orientation in _ORIENTATION:
        im = im.transpose(_ORIENTATION[orientation])
    im = im.copy() if im is src else im
    im.thumbnail(box, Image.Resampling.LANCZOS)
    return im


def open_for_display(path: Path | str, max_w: int, max_h: int) -> Image.Image:
    """The image at `path` as an RGB or RGBA picture at most `max_w`×`max_h` pixels.

    Aspect ratio kept, EXIF orientation applied, first frame of an animation. The result holds
    no open file. ValueError if the box is not positive; ImageUnreadable (a ValueError) for a
    missing, corrupt or truncated file, an unknown format, or more pixels than MAX_PIXELS
    (MAX_JPEG_PIXELS for JPEG, which is decoded at reduced scale).
    """
    if max_w < 1 or max_h < 1:
        raise ValueError(f"display box must be positive, not {max_w}x{max_h}")
    from imagen_tui.backends.interop.header import image_info

    path = Path(path)
    mime, width, height = image_info(path)
    _check_pixels(path, width, height, MAX_JPEG_PIXELS if mime == "image/jpeg" else MAX_PIXELS)
    try:
        return _decode_file(path, (max_w, max_h), mime)
    except ImageUnreadable:
        raise
    except _DECODE_ERRORS as exc:
        raise ImageUnreadable(path, str(exc) or type(exc).__name__) from exc


def _decode_file(path: Path, box: tuple[int, int], mime: str) -> Image.Image:
    try:
        with quiet_pillow(), open_unchecked(path) as src:
            return _decode(path, src, box)
    except ValueError as exc:  # Pillow's text-chunk limits (MAX_TEXT_CHUNK/MAX_TEXT_MEMORY)
        if mime != "image/png" or "text" not in str(exc).lower():
            raise
    with quiet_pillow(), open_unchecked(_without_text_chunks(path)) as src:
        return _decode(path, src, box)
