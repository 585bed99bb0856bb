"""EXIF UserComment decoding and JPEG/WebP text."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from imagen_tui.backends.interop import read_recipe
from imagen_tui.backends.interop.exif import container_texts, decode_user_comment, exif_texts

from .conftest import user_comment_exif


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        (b"UNICODE\0" + "a 猫\n".encode("utf-16-be"), "a 猫\n"),
        (b"UNICODE\0" + "a 猫\n".encode("utf-16-le"), "a 猫\n"),
        (b"UNICODE\0" + "\ufeffhi".encode("utf-16-le"), "hi"),
        (b"ASCII\0\0\0plain\0", "plain"),
        (b"\0" * 8 + "утф".encode(), "утф"),
        (b"JIS\0\0\0\0\0" + "テスト".encode("shift_jis"), "テスト"),
        (b"no code at all", "no code at all"),
        ("already text", "already text"),
        (b"UNICODE\0", None),
        (None, None),
    ],
)
def test_decode_user_comment(raw: object, text: str | None) -> None:
    assert decode_user_comment(raw) == text


def test_exif_texts_garbage_gives_nothing() -> None:
    assert exif_texts(b"\x00garbage") == {}
    assert exif_texts(None) == {}


@pytest.mark.parametrize(("fmt", "order"), [("JPEG", "be"), ("WEBP", "le")])
def test_jpeg_and_webp_user_comment(tmp_path: Path, fmt: str, order: str) -> None:
    text = "一只橘猫在窗台上睡觉\nNegative prompt: 雪\nSteps: 7, Seed: 99, Size: 40x30"
    path = tmp_path / f"x.{fmt.lower()}"
    Image.new("RGB", (40, 30)).save(path, fmt, exif=user_comment_exif(text, order))
    assert container_texts(path)["exif:UserComment"] == text
    got = read_recipe(path)
    assert (got.source, got.prompt, got.negative, got.seed) == ("a1111", text[:10], "雪", 99)


def test_jpeg_comment_segment_with_infotext(tmp_path: Path) -> None:
    path = tmp_path / "c.jpg"
    Image.new("RGB", (8, 8)).save(path, "JPEG", comment=b"a fox\nSteps: 3, Seed: 4, Size: 8x8")
    got = read_recipe(path)
    assert (got.prompt, got.seed) == ("a fox", 4)


def test_plain_exif_comment_is_not_a_prompt(tmp_path: Path) -> None:
    path = tmp_path / "camera.jpg"
    Image.new("RGB", (8, 8)).save(path, "JPEG", exif=user_comment_exif("holiday 2019"))
    got = read_recipe(path)
    assert (got.source, got.prompt) == ("none", "")
    assert got.raw["exif:UserComment"] == "holiday 2019"


def test_swarmui_json_in_exif(tmp_path: Path) -> None:
    text = '{"sui_image_params": {"prompt": "a fox", "seed": 5, "steps": 6}}'
    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, "JPEG", exif=user_comment_exif(text))
    (tmp_path / "s.jpg").write_bytes(buf.getvalue())
    got = read_recipe(tmp_path / "s.jpg")
    assert (got.source, got.prompt, got.seed, got.steps) == ("swarmui", "a fox", 5, 6)
