"""PNG chunks: walk them without decoding pixels, and read the text ones.

Text chunk layout per the PNG spec (https://www.w3.org/TR/png-3/#11textinfo, read 2026-11-29):
`tEXt` keyword NUL text (Latin-1); `zTXt` keyword NUL method(0) zlib-data (Latin-1);
`iTXt` keyword NUL flag method language NUL translated-keyword NUL text (UTF-8, zlib if flag=1).
Many tools (A1111 among them, for ASCII-looking prompts) put UTF-8 into `tEXt`, so a `tEXt`/`zTXt`
text that is valid UTF-8 is read as UTF-8: real Latin-1 prose almost never is.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

OUR_KEYWORD = "imagen-tui"
"""Keyword of the iTXt chunk holding our own metadata (JSON)."""

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TEXT_TYPES = (b"tEXt", b"iTXt", b"zTXt")
MAX_CHUNK_BYTES = 32 * 1024 * 1024  # a stored text chunk larger than this is skipped unread
MAX_INFLATED_BYTES = 16 * 1024 * 1024  # a compressed text inflates to at most this (no zip bombs)
MAX_TOTAL_BYTES = 64 * 1024 * 1024  # all text chunks of one file together


def chunk(ctype: bytes, data: bytes) -> bytes:
    """One encoded chunk: big-endian length, type, data, CRC-32 over type + data."""
    return struct.pack(">I", len(data)) + ctype + data + struct.pack(">I", zlib.crc32(ctype + data))


def iter_chunks(
    fh: IO[bytes], wanted: tuple[bytes, ...], max_bytes: int | None = None
) -> Iterator[tuple[bytes, int, bytes | None]]:
    """(type, end offset, data) for each chunk of the PNG open in `fh`.

    Only `wanted` chunks of at most `max_bytes` (default MAX_CHUNK_BYTES) are read; their data
    is None on a bad CRC or when too big, b"" for every other chunk (skipped by seeking, so
    pixels cost nothing).
    A truncated tail ends the walk. ValueError if `fh` does not start with the PNG signature.
    """
    if fh.read(8) != PNG_SIGNATURE:
        raise ValueError("not a PNG file")
    max_bytes = MAX_CHUNK_BYTES if max_bytes is None else max_bytes
    while len(header := fh.read(8)) == 8:
        length, ctype = struct.unpack(">I4s", header)
        data: bytes | None = b""
        if ctype in wanted and length <= max_bytes:
            data, crc = fh.read(length), fh.read(4)
            if len(crc) < 4:
                return
            data = data if struct.unpack(">I", crc)[0] == zlib.crc32(ctype + data) else None
        else:
            data = None if ctype in wanted else b""
            fh.seek(length + 4, io.SEEK_CUR)
        yield ctype, fh.tell(), data
        if ctype == b"IEND":
            return


def _inflate(data: bytes) -> tuple[bytes, bool]:
    """(inflated bytes, whether the output hit MAX_INFLATED_BYTES and was cut)."""
    dobj = zlib.decompressobj()
    out = dobj.decompress(data, MAX_INFLATED_BYTES)
    return out, bool(dobj.unconsumed_tail)


def _latin1_or_utf8(raw: bytes) -> str:
    if raw.isascii():
        return raw.decode("ascii")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def decode_text_chunk(ctype: bytes, data: bytes) -> tuple[str, str, bool]:
    """(keyword, text, truncated) of one tEXt/zTXt/iTXt chunk's data.

    zlib.error, IndexError or ValueError on a malformed chunk.
    """
    keyword, _, rest = data.partition(b"\0")
    key = keyword.decode("latin-1")
    if ctype == b"tEXt":
        return key, _latin1_or_utf8(rest), False
    if ctype == b"zTXt":
        raw, cut = _inflate(rest[1:])
        return key, _latin1_or_utf8(raw), cut
    compressed, rest = rest[0], rest[2:]
    _lang, _, rest = rest.partition(b"\0")
    _translated, _, text = rest.partition(b"\0")
    raw, cut = _inflate(text) if compressed else (text, False)
    return key, raw.decode("utf-8", "replace"), cut


@dataclass
class PngText:
    """What a PNG says besides pixels: `texts` {keyword: text} (the first of a keyword wins),
    the raw `eXIf` payload if any, and `problems` (one line each: skipped or cut chunks)."""

    texts: dict[str, str] = field(default_factory=dict)
    exif: bytes | None = None
    problems: list[str] = field(default_factory=list)


def _add_text(found: PngText, ctype: bytes, data: bytes) -> int:
    try:
        key, text, cut = decode_text_chunk(ctype, data)
    except (zlib.error, IndexError, ValueError):
        found.problems.append(f"unreadable {ctype.decode()} chunk skipped")
        return 0
    if cut:
        found.problems.append(f"text chunk {key!r} cut at {MAX_INFLATED_BYTES} bytes")
    found.texts.setdefault(key, text)
    return len(text)


def read_png_text(source: Path | str | bytes) -> PngText:
    """Every text chunk (and eXIf) of a PNG file or PNG bytes, with the limits above.

    ValueError if this is not a PNG; OSError if the file cannot be read.
    """
    fh: IO[bytes] = io.BytesIO(source) if isinstance(source, bytes) else open(source, "rb")  # noqa: SIM115
    found, total = PngText(), 0
    with fh:
        for ctype, _, data in iter_chunks(fh, (*TEXT_TYPES, b"eXIf")):
            if data is None and ctype in TEXT_TYPES + (b"eXIf",):
                found.problems.append(f"{ctype.decode()} chunk skipped (bad CRC or too large)")
            elif ctype == b"eXIf":
                found.exif = found.exif or data
            elif ctype in TEXT_TYPES and data is not None:
                if total > MAX_TOTAL_BYTES:
                    found.problems.append("more text chunks than the limit: rest skipped")
                    break
                total += _add_text(found, ctype, data)
    return found
