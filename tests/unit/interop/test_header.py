"""`image_info`: type and size from headers, for every format we browse."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PIL import Image

from imagen_tui.backends.imaging import ImageUnreadable
from imagen_tui.backends.interop import image_info

from .conftest import encoded


@pytest.mark.parametrize(
    ("fmt", "save", "mime"),
    [
        ("PNG", {}, "image/png"),
        ("JPEG", {}, "image/jpeg"),
        ("JPEG", {"progressive": True}, "image/jpeg"),
        ("WEBP", {"lossless": False}, "image/webp"),
        ("WEBP", {"lossless": True}, "image/webp"),
        ("GIF", {}, "image/gif"),
        ("BMP", {}, "image/bmp"),
        ("TIFF", {}, "image/tiff"),
    ],
)
def test_sizes(tmp_path: Path, fmt: str, save: dict, mime: str) -> None:
    path = tmp_path / "x"
    path.write_bytes(encoded(fmt, (321, 123), **save))
    assert image_info(path) == (mime, 321, 123)


def test_webp_extended_header(tmp_path: Path) -> None:
    path = tmp_path / "x.webp"
    Image.new("RGBA", (300, 200), (1, 2, 3, 100)).save(path, "WEBP", exif=b"Exif\0\0MM\0*")
    assert path.read_bytes()[12:16] == b"VP8X"
    assert image_info(path) == ("image/webp", 300, 200)


def test_jpeg_with_big_app_segments(tmp_path: Path) -> None:
    path = tmp_path / "x.jpg"
    Image.new("RGB", (50, 60)).save(path, "JPEG", icc_profile=b"\0" * 200_000, comment=b"c" * 9)
    assert image_info(path) == ("image/jpeg", 50, 60)


@pytest.mark.parametrize(
    "data", [b"", b"not an image", b"\x89PNG\r\n\x1a\n\0\0", b"\xff\xd8\xff\xe0\0\x10JFIF"]
)
def test_unreadable(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "x.png"
    path.write_bytes(data)
    with pytest.raises(ImageUnreadable) as err:
        image_info(path)
    assert err.value.path == path and err.value.reason


def test_zero_sized_png_header(tmp_path: Path) -> None:
    png = bytearray(encoded("PNG"))
    png[16:24] = b"\0" * 8
    path = tmp_path / "zero.png"
    path.write_bytes(bytes(png))
    with pytest.raises(ImageUnreadable, match="zero-sized"):  # either message
        image_info(path)


def test_missing(tmp_path: Path) -> None:
    with pytest.raises(ImageUnreadable, match="No such file"):
        image_info(tmp_path / "missing.png")


def test_fifo_and_devices_are_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    with pytest.raises(ImageUnreadable, match="not a regular file"):
        image_info(fifo)
    (tmp_path / "zero.png").symlink_to("/dev/zero")
    with pytest.raises(ImageUnreadable, match="not a regular file"):
        image_info(tmp_path / "zero.png")
