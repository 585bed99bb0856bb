"""Image type and size from the file header, without decoding pixels.

PNG, JPEG, WebP and GIF go through `imagen_tui.backends.imageheader` (byte layouts and their
sources are cited there); anything else (BMP, TIFF…) through Pillow's lazy `Image.open`, which
reads headers only. Here the answer becomes `(mime, width, height)` or an `ImageUnreadable`.
"""

from __future__ import annotations

import os
import stat
import warnings
from pathlib import Path

from imagen_tui.backends.imageheader import read_header
from imagen_tui.backends.imaging import ImageUnreadable, quiet_pillow


def _pillow(path: Path) -> tuple[str, int, int] | None:
    from PIL import Image

    with quiet_pillow(), warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            with Image.open(path) as im:
                mime = Image.MIME.get(im.format or "", "application/octet-stream")
                return mime, im.width, im.height
        except Image.DecompressionBombError as exc:
            # Pillow refuses before telling the size; the header is fine, the size is huge.
            raise ImageUnreadable(path, f"too many pixels ({exc})") from exc
        except (OSError, SyntaxError, ValueError, EOFError):
            return None


def image_info(path: Path | str) -> tuple[str, int, int]:
    """(MIME type, width px, height px) from the header of the image at `path`.

    The size is the stored one (EXIF orientation is not applied). Pixels are never decoded.
    Raises ImageUnreadable when the file is missing, not a regular file, unreadable, not an
    image, or has a zero-sized or broken header.
    """
    path = Path(path)
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):  # a FIFO or device would block or never end
            raise ImageUnreadable(path, "not a regular file")
        header = read_header(path)
        info = (header.mime_type, header.width, header.height) if header else _pillow(path)
    except OSError as exc:
        raise ImageUnreadable(path, exc.strerror or str(exc)) from exc
    if info is None:
        raise ImageUnreadable(path, "not an image, or a broken or zero-sized header")
    if info[1] <= 0 or info[2] <= 0:
        raise ImageUnreadable(path, f"zero-sized image ({info[1]}x{info[2]})")
    return info
