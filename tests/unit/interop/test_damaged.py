"""Damaged copies of every fixture: readers report problems, never crash or warn.

Warnings are errors in this suite, so a Pillow "Corrupt EXIF data" warning leaking out of the
readers (it would tear a TUI screen) fails here too.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from imagen_tui.backends.imaging import ImageUnreadable, open_for_display
from imagen_tui.backends.interop import read_recipe

from .conftest import DATA

FILES = sorted(p for p in DATA.glob("*/*") if p.suffix != ".md" and p.stat().st_size < 100_000)


def damage(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        pos = rng.randrange(len(out))
        roll = rng.random()
        if roll < 0.6:
            out[pos] = rng.randrange(256)
        elif roll < 0.8:
            del out[pos : pos + rng.randint(1, 50)]
        else:
            out[pos:pos] = rng.randbytes(rng.randint(1, 20))
    return bytes(out)


@pytest.mark.parametrize("seed", range(8))
def test_damaged_files(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    for n in range(40):
        source = rng.choice(FILES)
        path = tmp_path / f"{n}{source.suffix}"
        path.write_bytes(damage(source.read_bytes(), rng))
        recipe = read_recipe(path)
        assert "reader error" not in (recipe.problem or ""), (source.name, recipe.problem)
        assert "failed" not in (recipe.problem or ""), (source.name, recipe.problem)
        try:
            image = open_for_display(path, 16, 16)
        except ImageUnreadable:
            continue
        assert image.mode in ("RGB", "RGBA") and max(image.size) <= 16


def test_corrupt_exif_is_silent(tmp_path: Path) -> None:
    source = (DATA / "exif-usercomment-jpeg-webp/a1111.jpg").read_bytes()
    pointer = b"\x87i\x00\x04\x00\x00\x00\x01\x00\x00\x00\x1a"  # Exif IFD at offset 0x1a
    assert pointer in source
    (tmp_path / "x.jpg").write_bytes(source.replace(pointer, pointer[:-2] + b"\x0f\xf0"))
    recipe = read_recipe(tmp_path / "x.jpg")  # Pillow warns "Corrupt EXIF data" inside
    assert (recipe.source, recipe.width, recipe.problem) == ("none", 64, None)
    assert open_for_display(tmp_path / "x.jpg", 8, 8).size == (8, 6)
