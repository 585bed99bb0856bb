"""PNG text chunks: encodings, limits and damage."""

from __future__ import annotations

import zlib

import pytest

from imagen_tui.backends.interop import pngtext
from imagen_tui.backends.interop.pngtext import chunk, decode_text_chunk, read_png_text

from .conftest import encoded


def with_chunks(*chunks: bytes) -> bytes:
    png = encoded("PNG")
    return png[:33] + b"".join(chunks) + png[33:]


def test_text_encodings() -> None:
    png = with_chunks(
        chunk(b"tEXt", b"latin\0caf\xe9"),
        chunk(b"tEXt", "utf8\0テスト café".encode()),
        chunk(b"zTXt", b"z\0\0" + zlib.compress("白い猫".encode())),
        chunk(b"iTXt", b"i\0\1\0ja\0\xe7\xbf\xbb\0" + zlib.compress("睡觉".encode())),
    )
    assert read_png_text(png).texts == {
        "latin": "café",
        "utf8": "テスト café",
        "z": "白い猫",
        "i": "睡觉",
    }


def test_inflate_is_bounded_and_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pngtext, "MAX_INFLATED_BYTES", 1000)
    bomb = zlib.compress(b"a" * 1_000_000)
    found = read_png_text(with_chunks(chunk(b"zTXt", b"w\0\0" + bomb)))
    assert len(found.texts["w"]) == 1000
    assert found.problems == ["text chunk 'w' cut at 1000 bytes"]


def test_oversized_chunk_is_skipped_unread(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pngtext, "MAX_CHUNK_BYTES", 100)
    found = read_png_text(with_chunks(chunk(b"tEXt", b"big\0" + b"x" * 500)))
    assert found.texts == {} and "too large" in found.problems[0]


def test_bad_crc_and_malformed_chunks_are_skipped() -> None:
    bad = bytearray(chunk(b"tEXt", b"bad\0no"))
    bad[-1] ^= 0xFF
    broken = chunk(b"zTXt", b"z\0\0not zlib")
    found = read_png_text(with_chunks(bytes(bad), broken, chunk(b"tEXt", b"ok\0yes")))
    assert found.texts == {"ok": "yes"} and len(found.problems) == 2


def test_exif_chunk_is_returned() -> None:
    assert read_png_text(with_chunks(chunk(b"eXIf", b"MM\0*"))).exif == b"MM\0*"


def test_not_png() -> None:
    with pytest.raises(ValueError):
        read_png_text(b"GIF89a")


def test_itxt_with_undecodable_utf8_is_replaced() -> None:
    assert decode_text_chunk(b"iTXt", b"k\0\0\0\0\0\xff\xfeok")[1] == "\ufffd\ufffdok"
