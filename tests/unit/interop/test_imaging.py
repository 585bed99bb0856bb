"""`open_for_display`: every image that opens becomes a small RGB/RGBA picture."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image
from PIL.JpegImagePlugin import JpegImageFile

from imagen_tui.backends import imaging
from imagen_tui.backends.imaging import ImageUnreadable, open_for_display

from .conftest import fixture


def test_16bit_gray_keeps_its_real_tones() -> None:
    im = open_for_display(fixture("16bit-gray-thumbnail/gray16.png"), 128, 128)
    assert im.mode == "RGB" and im.size == (128, 32)
    left, mid, right = (im.getpixel((x, 16))[0] for x in (0, 64, 127))
    assert left < 8 and 118 < mid < 138 and right > 247


def test_big_text_chunk_png_opens() -> None:
    im = open_for_display(fixture("big-compressed-text-chunk/big_itxt.png"), 32, 24)
    assert im.size == (32, 24) and im.mode == "RGB"


@pytest.mark.parametrize("name", ["a1111.jpg", "a1111.webp"])
def test_jpeg_and_webp(name: str) -> None:
    im = open_for_display(fixture(f"exif-usercomment-jpeg-webp/{name}"), 32, 32)
    assert im.size == (32, 24)


def test_palette_with_and_without_transparency(tmp_path: Path) -> None:
    pal = Image.new("P", (40, 20), 1)
    pal.putpalette([0, 0, 0, 250, 10, 20] + [0] * 762)
    pal.save(tmp_path / "p.png")
    pal.save(tmp_path / "t.png", transparency=0)
    solid = open_for_display(tmp_path / "p.png", 20, 20)
    assert solid.mode == "RGB" and solid.getpixel((5, 5)) == (250, 10, 20)
    clear = open_for_display(tmp_path / "t.png", 20, 20)
    assert clear.mode == "RGBA" and clear.getpixel((5, 5)) == (250, 10, 20, 255)


def test_cmyk_and_la(tmp_path: Path) -> None:
    Image.new("CMYK", (30, 30), (0, 255, 255, 0)).save(tmp_path / "c.jpg", "JPEG")
    red = open_for_display(tmp_path / "c.jpg", 10, 10).getpixel((5, 5))
    assert red[0] > 200 and red[1] < 60
    Image.new("LA", (30, 30), (200, 128)).save(tmp_path / "la.png")
    grey, _, _, alpha = open_for_display(tmp_path / "la.png", 10, 10).getpixel((5, 5))
    assert abs(grey - 200) <= 1 and alpha == 128


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    im = Image.new("RGB", (60, 30), (0, 0, 255))
    im.paste((255, 0, 0), (0, 0, 30, 30))  # left half red
    exif = Image.Exif()
    exif[0x0112] = 6  # stored rotated: display rotates 90° clockwise
    im.save(tmp_path / "o.jpg", "JPEG", exif=exif.tobytes(), quality=95)
    shown = open_for_display(tmp_path / "o.jpg", 100, 100)
    assert shown.size == (30, 60)
    assert shown.getpixel((15, 5))[0] > 200 and shown.getpixel((15, 55))[2] > 200


@pytest.mark.parametrize("name", ["a.gif", "a.webp", "a.png"])
def test_animations_show_their_first_frame(tmp_path: Path, name: str) -> None:
    frames = [Image.new("RGB", (20, 20), c) for c in ((255, 0, 0), (0, 255, 0))]
    frames[0].save(tmp_path / name, save_all=True, append_images=frames[1:], duration=50)
    r, g, _ = open_for_display(tmp_path / name, 10, 10).getpixel((5, 5))[:3]
    assert r > 200 and g < 50


def test_large_jpeg_is_decoded_at_reduced_scale(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    Image.new("RGB", (2400, 1600), (9, 99, 199)).save(tmp_path / "big.jpg", "JPEG")
    sizes = []
    real = JpegImageFile.load

    def spy(self: JpegImageFile) -> object:
        result = real(self)
        sizes.append(self.size)
        return result

    monkeypatch.setattr(JpegImageFile, "load", spy)
    im = open_for_display(tmp_path / "big.jpg", 160, 160)
    assert im.size == (160, 107) and sizes and sizes[0] == (300, 200)  # 1/8 scale by libjpeg


def test_16bit_png_tones_survive_shrinking(tmp_path: Path) -> None:
    Image.new("I;16", (1200, 600), 30000).save(tmp_path / "g.png")
    assert open_for_display(tmp_path / "g.png", 60, 60).getpixel((1, 1)) == (117, 117, 117)


def test_huge_rgba_is_never_copied_at_full_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    Image.new("RGBA", (1200, 600), (100, 150, 200, 255)).save(tmp_path / "a.png")
    monkeypatch.setattr(imaging, "_PREMULTIPLY_LIMIT", 1000)  # as if it were 200 MP
    full_size_copies = []
    real = Image.Image.convert

    def spy(self: Image.Image, *args: object, **kwargs: object) -> Image.Image:
        if self.size == (1200, 600):
            full_size_copies.append(args)
        return real(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Image.Image, "convert", spy)
    assert open_for_display(tmp_path / "a.png", 60, 60).getpixel((1, 1)) == (100, 150, 200, 255)
    assert full_size_copies == []


def test_pixel_limit_is_checked_from_the_header(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    Image.new("RGB", (400, 300)).save(tmp_path / "x.png")
    monkeypatch.setattr(imaging, "MAX_PIXELS", 100_000)
    with pytest.raises(ImageUnreadable, match="over the limit"):
        open_for_display(tmp_path / "x.png", 50, 50)


def test_decompression_bomb_header_is_refused_before_decoding(tmp_path: Path) -> None:
    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    body = b"IHDR" + ihdr
    png = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + body + struct.pack(">I", zlib.crc32(body))
    (tmp_path / "bomb.png").write_bytes(png)
    with pytest.raises(ImageUnreadable, match="megapixels"):
        open_for_display(tmp_path / "bomb.png", 50, 50)


@pytest.mark.parametrize("data", [b"", b"junk", b"\x89PNG\r\n\x1a\n", None])
def test_unreadable_files_raise_image_unreadable(tmp_path: Path, data: bytes | None) -> None:
    path = tmp_path / "bad.png"
    if data is not None:
        path.write_bytes(data)
    with pytest.raises(ImageUnreadable) as err:
        open_for_display(path, 10, 10)
    assert err.value.reason and isinstance(err.value, ValueError)


def test_truncated_pixels_raise_image_unreadable(tmp_path: Path) -> None:
    Image.effect_noise((200, 200), 60).save(tmp_path / "n.png")
    data = (tmp_path / "n.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageUnreadable):
        open_for_display(tmp_path / "cut.png", 10, 10)


def test_box_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        open_for_display(fixture("zero-dimensions/plain.png"), 0, 10)
