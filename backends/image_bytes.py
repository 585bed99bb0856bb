"""Is this payload a whole image? The header (`imageheader.sniff`), then a full decode.

The engine reads type and size from the header only; a payload cut short after its header (a
dropped connection, a proxy's size limit) passes that check. `verify_image` decodes every pixel,
so an adapter can refuse it as `no_image` instead of saving half a picture. Blocking (Pillow):
call it through `asyncio.to_thread`.
"""

from __future__ import annotations

import io

from .errors import ErrorCode, ImagenError
from .imageheader import ImageHeader, sniff, truncation
from .text import one_line

"""The IEND chunk type and its CRC close every whole PNG (https://www.w3.org/TR/png/#11IEND)."""


def verify_image(data: bytes, source: str) -> ImageHeader:
    """The header of `data` once it decodes whole; raises `ImagenError(NO_IMAGE)` naming
    `source` when it is empty, not PNG/JPEG/WebP/GIF, truncated or corrupt."""
    header = sniff(data)
    if header is None:
        head = data[:16].hex(" ") if data else "nothing"
        raise ImagenError(
            ErrorCode.NO_IMAGE, f"{source} sent {len(data)} bytes that are not an image ({head})"
        )
    problem = truncation(data)
    if problem is not None:
        raise ImagenError(ErrorCode.NO_IMAGE, f"{source} sent a {problem}")
    from PIL import Image, UnidentifiedImageError  # only a run that got bytes pays for Pillow

    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        why = one_line(exc, 120) if not isinstance(exc, UnidentifiedImageError) else ""
        raise ImagenError(
            ErrorCode.NO_IMAGE, f"{source} sent a broken {header.mime_type} {why}".rstrip()
        ) from None
    return header
