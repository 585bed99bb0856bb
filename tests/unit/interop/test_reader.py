"""`read_recipe` never raises, bounds what it reads, and keeps text terminal-safe."""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import pytest
from PIL import Image

from imagen_tui.backends.interop import read_recipe
from imagen_tui.backends.interop.pngtext import chunk
from imagen_tui.backends.interop.text import MAX_PROMPT_CHARS, MAX_RAW_CHARS, clean
from imagen_tui.backends.store.pngmeta import import_metadata

from .conftest import encoded, png_with


@pytest.mark.parametrize(
    "data",
    [b"", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"RIFF\0\0\0\0WEBPVP8 ", b"GIF89a", b"hello"],
)
def test_garbage_files_give_a_problem_not_an_exception(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "bad.png"
    path.write_bytes(data)
    got = read_recipe(path)
    assert (got.source, got.width, got.height) == ("none", 0, 0)
    assert got.problem


def test_missing_file_and_directory(tmp_path: Path) -> None:
    assert "No such file" in (read_recipe(tmp_path / "nope.png").problem or "")
    assert read_recipe(tmp_path).problem


def test_truncated_png_keeps_what_it_read(tmp_path: Path) -> None:
    png = encoded("PNG", (40, 30))
    text = chunk(b"tEXt", b"parameters\0a fox\nSteps: 2, Seed: 3, Size: 40x30")
    path = tmp_path / "cut.png"
    path.write_bytes(png[:33] + text + png[33:50])
    got = read_recipe(path)
    assert (got.prompt, got.seed, got.width, got.height) == ("a fox", 3, 40, 30)


def test_13_mb_prompt_is_truncated_with_a_mark(tmp_path: Path) -> None:
    prompt = "a very long prompt, " * 680_000  # 13.6 MB
    path = png_with(tmp_path / "huge.png", parameters=f"{prompt}\nSteps: 5, Seed: 6, Size: 1x1")
    got = read_recipe(path)
    assert (got.seed, got.steps) == (6, 5)
    assert len(got.prompt) < MAX_PROMPT_CHARS + 100
    assert got.prompt.endswith("more characters]") and "truncated" in (got.problem or "")
    assert len(got.raw["parameters"]) < MAX_RAW_CHARS + 100
    meta = import_metadata(path)
    assert meta is not None and len(json.dumps(meta)) < 2 * MAX_PROMPT_CHARS


def test_zip_bomb_text_chunk_is_cut(tmp_path: Path) -> None:
    bomb = zlib.compress(b"x" * 40_000_000, 9)  # 40 MB inflated, ~40 kB stored
    png = encoded("PNG")
    path = tmp_path / "bomb.png"
    path.write_bytes(png[:33] + chunk(b"zTXt", b"parameters\0\0" + bomb) + png[33:])
    got = read_recipe(path)
    assert got.width == 40 and "cut at" in (got.problem or "")


def test_control_characters_never_survive(tmp_path: Path) -> None:
    evil = "a \x1b]52;c;ZXZpbA==\x07fox\x1b[2J\x9b31m\r\nNegative prompt: \x00x\nSteps: 1, Seed: 2"
    got = read_recipe(png_with(tmp_path / "e.png", parameters=evil))
    for text in (got.prompt, got.negative, *got.extra.values()):
        assert not any(ord(c) < 32 and c not in "\n\t" or 0x7F <= ord(c) < 0xA0 for c in text)
    assert got.prompt == "a ]52;c;ZXZpbA==fox[2J31m" and got.negative == "x"


def test_clean_keeps_newlines_tabs_cjk_and_emoji() -> None:
    assert clean("白い\t猫\r\nが\r歩く\u2028👨\u200d👩") == (
        "白い\t猫\nが\n歩く\n👨\u200d👩",
        False,
    )
    assert clean("abc\u202edef\u2066g") == ("abcdefg", False)


def test_raw_is_json_safe(tmp_path: Path) -> None:
    png = encoded("PNG")
    path = tmp_path / "r.png"
    raw = b"parameters\0caf\xe9 \xff\xfe"  # not UTF-8: read as Latin-1
    path.write_bytes(png[:33] + chunk(b"tEXt", raw) + png[33:])
    got = read_recipe(path)
    assert json.loads(json.dumps(got.raw, allow_nan=False)) == got.raw


def test_one_failing_reader_lets_the_next_one_answer(tmp_path: Path) -> None:
    path = png_with(
        tmp_path / "x.png",
        invokeai_metadata='{"positive_prompt": 5, "loras": "not a list", "model": []}',
        parameters="a fox\nSteps: 1, Seed: 2",
    )
    got = read_recipe(path)
    assert got.source == "invokeai" and got.prompt == "5"


def test_gif_and_animated_images_have_a_size(tmp_path: Path) -> None:
    frames = [Image.new("P", (20, 10), i) for i in range(3)]
    frames[0].save(tmp_path / "a.gif", save_all=True, append_images=frames[1:])
    got = read_recipe(tmp_path / "a.gif")
    assert (got.mime, got.width, got.height, got.source) == ("image/gif", 20, 10, "none")
