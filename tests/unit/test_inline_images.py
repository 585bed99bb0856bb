"""Reference files in, base64 images out: formats by magic bytes, truncation caught."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import pytest
from PIL import Image

from imagen_tui.backends.adapters.inline_images import (
    InlineImage,
    check_complete,
    decode_base64_image,
    read_reference,
)
from imagen_tui.backends.errors import ErrorCode, ImagenError

ALLOWED = frozenset({"image/png", "image/jpeg", "image/webp"})


def encode(fmt: str) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 200, 30)).save(buf, fmt)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("fmt", "mime"), [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("WEBP", "image/webp")]
)
def test_whole_images_pass_and_cut_ones_are_no_image(fmt: str, mime: str) -> None:
    data = encode(fmt)
    assert check_complete(data, "p") == mime
    with pytest.raises(ImagenError) as info:
        check_complete(data[: len(data) - 10], "p")
    assert info.value.code == ErrorCode.NO_IMAGE and f"a truncated {mime}" in info.value.detail


def test_non_images_are_no_image() -> None:
    for data in (b"", b"<html>", b"\x89PNG\r\n\x1a\n"):
        with pytest.raises(ImagenError) as info:
            check_complete(data, "p")
        assert info.value.code == ErrorCode.NO_IMAGE


def test_base64_with_or_without_data_prefix() -> None:
    raw = encode("PNG")
    plain = base64.b64encode(raw).decode()
    assert decode_base64_image(plain, "p") == raw
    assert decode_base64_image("data:image/png;base64," + plain, "p") == raw
    with pytest.raises(ImagenError) as info:
        decode_base64_image("%%%not base64%%%", "p")
    assert info.value.code == ErrorCode.NO_IMAGE


def test_reference_type_comes_from_the_bytes(tmp_path: Path) -> None:
    ref = tmp_path / "photo.png"
    ref.write_bytes(encode("JPEG"))
    image = read_reference(ref, max_bytes=10**6, allowed=ALLOWED)
    assert image.mime_type == "image/jpeg"
    assert image.data_uri().startswith("data:image/jpeg;base64,/9j/")
    assert base64.b64decode(image.base64()) == image.data


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (None, "No such file"),
        (b"GIF89a\x01\x00\x01\x00", "is not one of"),
        (b"x" * 50, "is not one"),
    ],
)
def test_bad_references_are_bad_requests_naming_the_file(
    tmp_path: Path, content: bytes | None, words: str
) -> None:
    ref = tmp_path / "ref\x1b[2J.png"
    if content is not None:
        ref.write_bytes(content)
    with pytest.raises(ImagenError) as info:
        read_reference(ref, max_bytes=10**6, allowed=ALLOWED)
    assert info.value.code == ErrorCode.BAD_REQUEST and words in info.value.detail
    assert "\x1b" not in info.value.detail and "ref␛[2J.png" in info.value.detail


def test_oversized_reference_is_refused_before_reading(tmp_path: Path) -> None:
    ref = tmp_path / "big.png"
    ref.write_bytes(encode("PNG"))
    with pytest.raises(ImagenError) as info:
        read_reference(ref, max_bytes=10, allowed=ALLOWED)
    assert "at most" in info.value.detail


def test_inline_image_is_a_plain_value() -> None:
    assert InlineImage("image/png", b"ab") == InlineImage("image/png", b"ab")
