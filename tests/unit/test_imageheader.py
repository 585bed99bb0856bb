"""Image type, size and completeness from the bytes alone."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from imagen_tui.backends.imageheader import read_header, sniff, truncation


def encoded(fmt: str, size: tuple[int, int] = (150, 100)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (10, 200, 30)).save(out, fmt)
    return out.getvalue()


@pytest.mark.parametrize(
    ("fmt", "mime"),
    [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("WEBP", "image/webp"), ("GIF", "image/gif")],
)
def test_type_size_and_whole_from_the_bytes(fmt: str, mime: str, tmp_path) -> None:
    data = encoded(fmt)
    header = sniff(data)
    assert header is not None and (header.mime_type, header.width, header.height) == (
        mime,
        150,
        100,
    )
    assert truncation(data) is None
    assert truncation(data + b"\0\0") is None  # zero padding is allowed
    assert truncation(data[: len(data) - 12]) is not None  # a download cut short
    path = tmp_path / f"x.{fmt.lower()}"
    path.write_bytes(data)
    assert read_header(path) == header


def test_not_an_image() -> None:
    assert sniff(b"<html>502</html>") is None
    assert truncation(b"<html>502</html>").startswith("not an image")
    assert sniff(b"\x89PNG\r\n\x1a\n") is None  # a header cut before the size
