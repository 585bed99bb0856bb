"""Small real images for fake providers to serve (made with Pillow, cached per size)."""

from __future__ import annotations

import io
from functools import cache

from PIL import Image


@cache
def image_bytes(width: int = 64, height: int = 48, fmt: str = "PNG") -> bytes:
    """A solid-colour image of `width`×`height` pixels encoded as `fmt` (PNG, JPEG, WEBP)."""
    buf = io.BytesIO()
    Image.new("RGB", (width, height), (200, 90, 40)).save(buf, fmt)
    return buf.getvalue()
