"""Image type and size from the first bytes of a file, without decoding pixels (or Pillow).

Used after every generation (providers return PNG, JPEG or WebP whatever was asked) and when
indexing foreign files. Sources: PNG IHDR (https://www.w3.org/TR/png/#11IHDR), JPEG SOFn markers
(ITU T.81 B.2.2), WebP VP8/VP8L/VP8X (https://developers.google.com/speed/webp/docs/riff_container),
GIF logical screen (GIF89a spec §18); all read 2026-11-29.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

HEAD_BYTES = 64 * 1024
"""Enough for a JPEG whose SOF follows a large EXIF block in most files; see `read_header`."""

_SOF = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})


@dataclass(frozen=True, slots=True)
class ImageHeader:
    """`mime_type` like "image/png"; `width`/`height` in pixels; `extension` without a dot."""

    mime_type: str
    width: int
    height: int

    @property
    def extension(self) -> str:
        return {"image/jpeg": "jpg", "image/webp": "webp", "image/gif": "gif"}.get(
            self.mime_type, "png"
        )


def sniff(data: bytes) -> ImageHeader | None:
    """The header of an image held in `data` (its start is enough); None if not PNG/JPEG/WebP/GIF
    or truncated before the size."""
    try:
        if data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR":
            return _sized("image/png", *struct.unpack(">II", data[16:24]))
        if data[:3] == b"\xff\xd8\xff":
            return _jpeg(data)
        if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
            return _webp(data)
        if data[:6] in (b"GIF87a", b"GIF89a"):
            return _sized("image/gif", *struct.unpack("<HH", data[6:10]))
    except struct.error:
        return None
    return None


def read_header(path: Path | str) -> ImageHeader | None:
    """`sniff` on a file; reads more of a JPEG when its SOF marker lies past the first 64 KiB.
    Raises OSError when the file cannot be read."""
    with open(path, "rb") as fh:
        head = fh.read(HEAD_BYTES)
        found = sniff(head)
        if found is None and head[:3] == b"\xff\xd8\xff":
            found = sniff(head + fh.read(16 * 1024 * 1024))
    return found


def _sized(mime: str, width: int, height: int) -> ImageHeader | None:
    return ImageHeader(mime, width, height) if width > 0 and height > 0 else None


def _jpeg(data: bytes) -> ImageHeader | None:
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # markers without a length
            pos += 2
            continue
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if marker in _SOF:
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
            return _sized("image/jpeg", width, height)
        pos += 2 + length
    return None


def _webp(data: bytes) -> ImageHeader | None:
    chunk = data[12:16]
    if chunk == b"VP8X":
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return _sized("image/webp", width, height)
    if chunk == b"VP8L" and data[20:21] == b"\x2f":
        bits = int.from_bytes(data[21:25], "little")
        return _sized("image/webp", (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
    if chunk == b"VP8 " and data[23:26] == b"\x9d\x01\x2a":
        width, height = struct.unpack("<HH", data[26:30])
        return _sized("image/webp", width & 0x3FFF, height & 0x3FFF)
    return None


def truncation(data: bytes) -> str | None:
    """Why `data` is not one whole PNG/JPEG/WebP/GIF, or None when it ends where it should.

    A download cut short still starts with a valid header, so the end is checked: PNG ends with
    its IEND chunk (W3C PNG §11.2.5), JPEG with EOI `FF D9` (ITU T.81 B.1.1.2), WebP's RIFF size
    covers the file (Google WebP container spec), GIF ends with its trailer `;` (GIF89a §27);
    trailing zero padding is allowed. Sources read 2026-11-29. No pixels are decoded.
    """
    header = sniff(data)
    if header is None:
        return "not an image (no PNG, JPEG, WebP or GIF header)"
    tail = data.rstrip(b"\0")
    whole = {
        "image/png": tail.endswith(b"IEND\xaeB`\x82"),
        "image/jpeg": tail.rstrip(b"\n\r ").endswith(b"\xff\xd9"),
        "image/webp": len(data) >= 8 + int.from_bytes(data[4:8], "little"),
        "image/gif": tail.endswith(b";"),
    }[header.mime_type]
    return None if whole else f"truncated {header.extension.upper()} (it ends early)"
