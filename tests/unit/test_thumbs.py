"""Content-keyed thumbnail cache."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from PIL import Image
from PIL.JpegImagePlugin import JpegImageFile

from imagen_tui.backends.store.thumbs import ThumbCache


@pytest.fixture
def cache(tmp_path: Path) -> ThumbCache:
    return ThumbCache(tmp_path / "thumbs")


def size_of(path: Path) -> tuple[int, int]:
    with Image.open(path) as im:
        return im.size


def pixel(path: Path, xy: tuple[int, int]) -> object:
    with Image.open(path) as im:
        return im.getpixel(xy)


def make(path: Path, size: tuple[int, int], color: object = (10, 200, 30), **save: object) -> Path:
    mode = "RGBA" if isinstance(color, tuple) and len(color) == 4 else "RGB"
    Image.new(mode, size, color).save(path, **save)  # type: ignore[arg-type]
    return path


def test_thumbnail_fits_box_keeps_aspect_and_lands_in_layout(
    cache: ThumbCache, tmp_path: Path
) -> None:
    thumb = cache.get(make(tmp_path / "wide.png", (400, 200)), 100, 100)
    assert thumb.parent.parent == cache.root
    assert thumb.parent.name == thumb.name[:2]
    assert thumb.name.endswith("-100x100.png")
    with Image.open(thumb) as im:
        assert im.format == "PNG" and im.size == (100, 50) and im.mode == "RGB"
        assert im.getpixel((50, 25)) == (10, 200, 30)


def test_tall_image_and_jpeg_draft(cache: ThumbCache, tmp_path: Path) -> None:
    source = make(tmp_path / "tall.jpg", (600, 1200), format="JPEG", quality=95)
    with Image.open(cache.get(source, 64, 64)) as im:
        assert im.size == (32, 64) and im.mode == "RGB"


def test_jpeg_is_decoded_at_reduced_scale(
    cache: ThumbCache, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []
    real = JpegImageFile.draft

    def spy(self: JpegImageFile, mode: str | None, size: tuple[int, int] | None) -> object:
        calls.append(size)
        return real(self, mode, size)

    monkeypatch.setattr(JpegImageFile, "draft", spy)
    cache.get(make(tmp_path / "big.jpg", (1600, 1600), format="JPEG"), 100, 100)
    assert (100, 100) in calls


def test_alpha_is_kept(cache: ThumbCache, tmp_path: Path) -> None:
    with Image.open(cache.get(make(tmp_path / "a.png", (50, 50), (1, 2, 3, 0)), 10, 10)) as im:
        assert im.mode == "RGBA" and im.getpixel((5, 5))[3] == 0


def test_palette_image_becomes_rgb(cache: ThumbCache, tmp_path: Path) -> None:
    source = tmp_path / "p.gif"
    Image.new("P", (40, 40), 3).save(source)
    with Image.open(cache.get(source, 20, 20)) as im:
        assert im.mode == "RGB"


def test_a_hit_never_reads_the_image(
    cache: ThumbCache, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = make(tmp_path / "a.png", (80, 80))
    thumb = cache.get(first, 32, 32)
    made = thumb.stat().st_mtime_ns

    def no_reads(self: Path) -> bytes:
        raise AssertionError(f"read {self} on a cache hit")

    monkeypatch.setattr(Path, "read_bytes", no_reads)
    assert cache.get(first, 32, 32) == thumb
    assert thumb.stat().st_mtime_ns == made  # a hit, not a rebuild


def test_a_copy_is_its_own_entry(cache: ThumbCache, tmp_path: Path) -> None:
    first = make(tmp_path / "a.png", (80, 80))
    second = tmp_path / "b.png"
    shutil.copyfile(first, second)
    assert cache.get(first, 32, 32) != cache.get(second, 32, 32)


def test_different_sizes_differ(cache: ThumbCache, tmp_path: Path) -> None:
    source = make(tmp_path / "a.png", (300, 300))
    small, large = cache.get(source, 32, 32), cache.get(source, 128, 96)
    assert small != large
    assert size_of(small) == (32, 32) and size_of(large) == (96, 96)


def test_a_touched_file_gets_a_fresh_thumbnail(cache: ThumbCache, tmp_path: Path) -> None:
    source = make(tmp_path / "a.png", (60, 60))
    thumb = cache.get(source, 16, 16)
    os.utime(source, (1_000_000, 1_000_000))
    assert cache.get(source, 16, 16) != thumb


def test_content_change_changes_key(cache: ThumbCache, tmp_path: Path) -> None:
    source = make(tmp_path / "a.png", (60, 60), (255, 0, 0))
    before = cache.get(source, 16, 16)
    make(source, (60, 60), (0, 0, 255))
    after = cache.get(source, 16, 16)
    assert after != before
    assert pixel(after, (8, 8)) == (0, 0, 255)


def test_small_images_are_not_upscaled(cache: ThumbCache, tmp_path: Path) -> None:
    with Image.open(cache.get(make(tmp_path / "s.png", (20, 10)), 200, 200)) as im:
        assert im.size == (20, 10)


def test_get_image_returns_loaded_image(cache: ThumbCache, tmp_path: Path) -> None:
    im = cache.get_image(make(tmp_path / "a.png", (200, 100)), 50, 50)
    assert isinstance(im, Image.Image) and im.size == (50, 25)
    assert im.getpixel((0, 0)) == (10, 200, 30)


@pytest.mark.parametrize("data", [b"", b"not an image", b"\x89PNG\r\n\x1a\n" + b"\0" * 30])
def test_corrupt_image_raises_value_error(cache: ThumbCache, tmp_path: Path, data: bytes) -> None:
    bad = tmp_path / "bad.png"
    bad.write_bytes(data)
    with pytest.raises(ValueError, match="bad.png"):
        cache.get(bad, 32, 32)
    assert not list(cache.root.rglob("*.png"))


def test_truncated_image_raises_value_error(cache: ThumbCache, tmp_path: Path) -> None:
    good = make(tmp_path / "g.jpg", (300, 300), format="JPEG")
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(good.read_bytes()[:200])
    with pytest.raises(ValueError, match="cut.jpg"):
        cache.get(cut, 32, 32)


def test_missing_image_and_bad_box_raise_value_error(cache: ThumbCache, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="nope.png"):
        cache.get(tmp_path / "nope.png", 32, 32)
    with pytest.raises(ValueError, match="positive"):
        cache.get(make(tmp_path / "a.png", (8, 8)), 0, 32)


def test_clear_removes_everything(cache: ThumbCache, tmp_path: Path) -> None:
    assert cache.clear() == 0
    source = make(tmp_path / "a.png", (64, 64))
    other = make(tmp_path / "b.png", (64, 64), (1, 1, 1))
    for box in (8, 16):
        cache.get(source, box, box)
        cache.get(other, box, box)
    assert cache.clear() == 4
    assert not any(cache.root.iterdir())
    assert source.exists() and other.exists()
