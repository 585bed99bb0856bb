"""Reference images (and masks) read from disk for upload, checked before anything is sent.

    read_reference(path, what) -> ReferenceFile   bytes + mime (PNG/JPEG/WebP), or BAD_REQUEST
    ReferenceFile.data_uri()                      "data:image/png;base64,..." for JSON APIs

Blocking (file I/O): call through `asyncio.to_thread`.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path

from ..errors import ErrorCode, ImagenError
from ..imageheader import sniff

UPLOAD_TYPES = frozenset({"image/png", "image/jpeg", "image/webp"})
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
"""OpenAI edits take files under 50 MB each (providers.md §1, checked 2026-11-29)."""


@dataclass(frozen=True, slots=True)
class ReferenceFile:
    """One image to upload: its file name, bytes and mime type."""

    name: str
    data: bytes
    mime_type: str

    def data_uri(self) -> str:
        return f"data:{self.mime_type};base64,{base64.b64encode(self.data).decode('ascii')}"


def read_reference(path: Path, what: str = "reference") -> ReferenceFile:
    """Read `path`; BAD_REQUEST naming the file when it is missing, too big, or not a PNG,
    JPEG or WebP image. `what` names its role in the message ("reference", "mask")."""
    path = Path(path).expanduser()
    try:
        if path.stat().st_size > MAX_UPLOAD_BYTES:
            raise ImagenError(ErrorCode.BAD_REQUEST, f"{what} {path.name} is over 50 MB")
        data = path.read_bytes()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ImagenError(
            ErrorCode.BAD_REQUEST, f"{what} {path.name} cannot be read: {reason}"
        ) from None
    header = sniff(data)
    if header is None or header.mime_type not in UPLOAD_TYPES:
        raise ImagenError(
            ErrorCode.BAD_REQUEST, f"{what} {path.name} is not a PNG, JPEG or WebP image"
        )
    return ReferenceFile(path.name, data, header.mime_type)
