"""Images carried inside JSON: reference files in, base64 / `data:` URIs out.

Used by the Gemini (`inlineData {mimeType, data}`) and xAI (`image_url` data URIs) adapters.
Formats are told by their magic bytes (PNG, JPEG, WebP, GIF; `imageheader.sniff`), never by the
file name.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from pathlib import Path

from ..errors import ErrorCode, ImagenError
from ..imageheader import sniff, truncation
from ..text import one_line


@dataclass(frozen=True, slots=True)
class InlineImage:
    """Image bytes with their sniffed MIME type ("image/png", …)."""

    mime_type: str
    data: bytes

    def base64(self) -> str:
        """Plain base64 (no `data:` prefix)."""
        return base64.b64encode(self.data).decode("ascii")

    def data_uri(self) -> str:
        """`data:<mime>;base64,<B64>`."""
        return f"data:{self.mime_type};base64,{self.base64()}"


def read_reference(path: Path, *, max_bytes: int, allowed: frozenset[str]) -> InlineImage:
    """Read one reference image (blocking: call it in a worker thread).

    Raises `ImagenError(BAD_REQUEST)` naming the file when it cannot be read, is larger than
    `max_bytes`, or is not one of the `allowed` MIME types.
    """
    name = one_line(Path(path).name, 120)
    try:
        size = Path(path).stat().st_size
        if size > max_bytes:
            raise ImagenError(
                ErrorCode.BAD_REQUEST,
                f"reference {name} is {size / 1e6:.1f} MB; at most {max_bytes / 1e6:.0f} MB",
            )
        data = Path(path).read_bytes()
    except OSError as exc:
        reason = one_line(exc.strerror or type(exc).__name__, 80)
        raise ImagenError(ErrorCode.BAD_REQUEST, f"reference {name}: {reason}") from None
    header = sniff(data)
    if header is None or header.mime_type not in allowed:
        kinds = ", ".join(sorted(allowed))
        raise ImagenError(ErrorCode.BAD_REQUEST, f"reference {name} is not one of: {kinds}")
    return InlineImage(header.mime_type, data)


def decode_base64_image(text: str, who: str) -> bytes:
    """Bytes of a base64 image, with any `data:…;base64,` prefix stripped.

    Raises `ImagenError(NO_IMAGE)` naming `who` when the text is not valid base64 (a truncated
    or corrupted payload).
    """
    if text.startswith("data:"):
        _, _, text = text.partition(",")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ImagenError(ErrorCode.NO_IMAGE, f"{who} sent an image that is not base64") from None


def check_complete(data: bytes, who: str) -> str:
    """The MIME type of a whole PNG, JPEG, WebP or GIF in `data`; else `ImagenError(NO_IMAGE)`
    (a cut-off download still has a valid header: see `imageheader.truncation`)."""
    header = sniff(data)
    if header is None or truncation(data) is not None:
        what = "not an image" if header is None else f"a truncated {header.mime_type}"
        raise ImagenError(ErrorCode.NO_IMAGE, f"{who} sent {what} ({len(data)} bytes)")
    return header.mime_type
