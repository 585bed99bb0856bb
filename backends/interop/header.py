"""Image type and size from the file header, without decoding pixels.

Layouts (read 2026-11-29): PNG IHDR (https://www.w3.org/TR/png-3/#11IHDR); GIF logical screen
descriptor (https://www.w3.org/Graphics/GIF/spec-gif89a.txt §18); JPEG SOFn segments
(ITU T.81 Annex B.2.2); WebP `VP8 `/`VP8L`/`VP8X` chunks
(https://developers.google.com/speed/webp/docs/riff_container). Other formats go through
Pillow's lazy `Image.open`, which reads headers only.
"""

from __future__ import annotations

import os
import stat
import struct
import warnings
from pathlib import Path
from typing import IO

from imagen_tui.backends.imaging import ImageUnreadable

_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_JPEG_STANDALONE = frozenset({0x01, *range(0xD0, 0xD9)})


def _png(head: bytes) -> tuple[int, int] | None:
    if head[12:16] != b"IHDR":
        return None
    return struct.unpack(">II", head[16:24])


def _gif(head: bytes) -> tuple[int, int]:
    return struct.unpack("<HH", head[6:10])


def _webp(head: bytes) -> tuple[int, int] | None:
    kind = head[12:16]
    if kind == b"VP8 " and head[23:26] == b"\x9d\x01\x2a":
        w, h = struct.unpack("<HH", head[26:30])
        return w & 0x3FFF, h & 0x3FFF
    if kind == b"VP8L" and head[20] == 0x2F:
        bits = int.from_bytes(head[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if kind == b"VP8X":
        return int.from_bytes(head[24:27], "little") + 1, int.from_bytes(head[27:30], "little") + 1
    return None


def _jpeg(fh: IO[bytes]) -> tuple[int, int] | None:
    """Walk JPEG markers to the first SOFn segment: (width, height)."""
    fh.seek(2)
    for _ in range(10_000):  # segments; a real file reaches SOF within a few dozen
        byte = fh.read(1)
        if not byte:
            return None
        if byte != b"\xff":
            continue
        marker = fh.read(1)
        while marker == b"\xff":  # fill bytes
            marker = fh.read(1)
        if not marker or marker[0] in _JPEG_STANDALONE or marker[0] == 0:
            continue
        seg = fh.read(2)
        if len(seg) < 2:
            return None
        length = struct.unpack(">H", seg)[0]
        if marker[0] in _JPEG_SOF:
            data = fh.read(5)
            return (struct.unpack(">H", data[3:5])[0], struct.unpack(">H", data[1:3])[0])
        fh.seek(length - 2, os.SEEK_CUR)
    return None


def _pillow(path: Path) -> tuple[str, int, int] | None:
    from PIL import Image

    with warnings.catch_warnings():
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


def _sniff(path: Path) -> tuple[str, int, int] | None:
    with open(path, "rb") as fh:
        head = fh.read(32)
        size: tuple[int, int] | None = None
        if head.startswith(b"\x89PNG\r\n\x1a\n"):
            mime, size = "image/png", _png(head)
        elif head[:6] in (b"GIF87a", b"GIF89a") and len(head) >= 10:
            mime, size = "image/gif", _gif(head)
        elif head[:4] == b"RIFF" and head[8:12] == b"WEBP" and len(head) >= 30:
            mime, size = "image/webp", _webp(head)
        elif head[:2] == b"\xff\xd8":
            mime, size = "image/jpeg", _jpeg(fh)
        else:
            return _pillow(path)
    return (mime, *size) if size else None


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
        info = _sniff(path)
    except OSError as exc:
        raise ImageUnreadable(path, exc.strerror or str(exc)) from exc
    except (struct.error, IndexError) as exc:
        raise ImageUnreadable(path, "truncated image header") from exc
    if info is None:
        raise ImageUnreadable(path, "not an image, or a broken header")
    if info[1] <= 0 or info[2] <= 0:
        raise ImageUnreadable(path, f"zero-sized image ({info[1]}x{info[2]})")
    return info
