"""Text in EXIF: the UserComment where A1111, Fooocus and SwarmUI put their parameters in JPEG
and WebP files, plus ImageDescription, Software and a JPEG COM segment.

UserComment (EXIF 2.32 §4.6.5, tag 0x9286, type UNDEFINED, CIPA DC-008, read 2026-11-29) starts
with an 8-byte character code: "ASCII\\0\\0\\0", "UNICODE\\0" (UTF-16, byte order unstated: A1111
writes big-endian via piexif, others little-endian, so it is guessed), "JIS\\0\\0\\0\\0\\0", or
eight NULs (undefined). Pillow reads the EXIF block lazily, without decoding pixels.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PIL import Image

from imagen_tui.backends.imaging import open_unchecked, quiet_pillow

USER_COMMENT, EXIF_IFD = 0x9286, 0x8769
_IFD0_TEXT = {0x010E: "exif:ImageDescription", 0x0131: "exif:Software", 0x927C: "exif:MakerNote"}


def _utf16(body: bytes) -> str:
    if body[:2] in (b"\xfe\xff", b"\xff\xfe"):
        return body.decode("utf-16", "replace")
    sample = body[:256]
    even = sample[0::2].count(0)
    odd = sample[1::2].count(0)
    return body.decode("utf-16-be" if even > odd else "utf-16-le", "replace")


def _utf8_or_latin1(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return body.decode("latin-1")


def decode_user_comment(raw: Any) -> str | None:
    """The text of an EXIF UserComment value (bytes with its 8-byte code, or already str)."""
    if isinstance(raw, str):
        return raw.rstrip("\0") or None
    if not isinstance(raw, bytes | bytearray):
        return None
    raw = bytes(raw)
    code, body = raw[:8], raw[8:]
    if code == b"UNICODE\0":
        text = _utf16(body)
    elif code == b"ASCII\0\0\0" or code == b"\0" * 8:
        text = _utf8_or_latin1(body)
    elif code == b"JIS\0\0\0\0\0":
        text = body.decode("shift_jis", "replace")
    else:
        text = _utf8_or_latin1(raw)
    return text.rstrip("\0") or None


def _as_text(value: Any) -> str | None:
    if isinstance(value, bytes):
        return _utf8_or_latin1(value).rstrip("\0") or None
    return value.rstrip("\0") or None if isinstance(value, str) else None


def exif_texts(exif: bytes | None) -> dict[str, str]:
    """{"exif:UserComment": …, "exif:ImageDescription": …, …} from raw EXIF bytes (with or
    without the "Exif\\0\\0" prefix). Malformed EXIF gives what could be read, maybe {}."""
    if not exif:
        return {}
    parsed = Image.Exif()
    try:
        with quiet_pillow():
            parsed.load(exif)
            found = {name: _as_text(parsed.get(tag)) for tag, name in _IFD0_TEXT.items()}
            comment = decode_user_comment(parsed.get_ifd(EXIF_IFD).get(USER_COMMENT))
    except (SyntaxError, ValueError, KeyError, TypeError, OSError, IndexError):
        return {}
    found["exif:UserComment"] = comment
    return {key: text for key, text in found.items() if text}


def container_texts(path: Path) -> dict[str, str]:
    """Text a JPEG or WebP file carries: its EXIF texts and a JPEG comment ("comment").

    OSError and Pillow's decode errors propagate; the caller records them as a problem.
    """
    with quiet_pillow(), open_unchecked(path) as im:
        texts = exif_texts(im.info.get("exif"))
        comment = _as_text(im.info.get("comment"))
    if comment:
        texts["comment"] = comment
    return texts
