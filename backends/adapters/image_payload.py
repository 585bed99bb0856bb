"""Base64 image payloads from providers, checked before anything is written. Pure.

    decode_image(value, where) -> bytes   base64 (any `data:...;base64,` prefix stripped) of a
                                          complete PNG/JPEG/WebP/GIF, else ImagenError(no_image)
    is_complete(data) -> bool             the file's own end marker is present
    await off_loop(size, fn, *args)       fn(*args), in a worker thread when `size` is big

The engine sniffs the header of what an adapter returns, but a truncated PNG still has its
header: checking the end marker here keeps a cut-off download from being saved as an image.
Formats: PNG ends with the IEND chunk (https://www.w3.org/TR/png/#11IEND), JPEG with EOI FFD9
(ITU T.81 B.2.1), WebP's RIFF header gives the file size (developers.google.com/speed/webp/docs/
riff_container), GIF ends with the trailer 0x3B (GIF89a §27); all read 2026-11-29.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import Callable
from typing import Any, TypeVar

from ..errors import ErrorCode, ImagenError
from ..imageheader import truncation

T = TypeVar("T")

OFF_LOOP_BYTES = 64 * 1024
"""Payloads above this are parsed in a worker thread: JSON + base64 of a 1024x1024 PNG (4 MB)
held the event loop ~80 ms on the test machine (tests/bench/openai_stream.py)."""


def decode_image(value: Any, where: str) -> bytes:
    """The image bytes in `value` (base64 text). `where` names the source in the error."""
    if not isinstance(value, str) or not value.strip():
        raise ImagenError(ErrorCode.NO_IMAGE, f"{where}: no image data")
    text = value.strip()
    if text.startswith("data:"):
        text = text.partition(",")[2]
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ImagenError(ErrorCode.NO_IMAGE, f"{where}: image data is not valid base64") from None
    if not is_complete(data):
        raise ImagenError(
            ErrorCode.NO_IMAGE, f"{where}: {len(data)} bytes that are not a complete image"
        )
    return data


def is_complete(data: bytes) -> bool:
    """True when `data` is a whole PNG, JPEG, WebP or GIF (see `imageheader.truncation`)."""
    return truncation(data) is None


async def off_loop(size: int, fn: Callable[..., T], *args: Any) -> T:
    """`fn(*args)` here when `size` (bytes of the payload it parses) is small, else in a worker
    thread so a big image never stalls the event loop. Exceptions propagate either way."""
    if size < OFF_LOOP_BYTES:
        return fn(*args)
    return await asyncio.to_thread(fn, *args)
