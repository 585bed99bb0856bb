"""Inline validation of the prompt editor's fields."""

from __future__ import annotations

from pathlib import Path

import pytest

from imagen_tui.tui.editor_form import (
    CUSTOM,
    FormValues,
    parse_int,
    parse_references,
    parse_size,
    read_form,
)


@pytest.mark.parametrize(
    ("text", "size"),
    [("1024x768", (1024, 768)), (" 64 X 4096 ", (64, 4096)), ("512×512", (512, 512))],
)
def test_sizes(text: str, size: tuple[int, int]) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize(
    ("text", "reason"),
    [("big", "WIDTHxHEIGHT"), ("10x10", "64-4096"), ("5000x64", "64-4096"), ("", "WIDTHxHEIGHT")],
)
def test_bad_sizes(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_size(text)


def test_ints() -> None:
    assert parse_int("", 1, 5) is None
    assert parse_int(" 3 ", 1, 5) == 3
    with pytest.raises(ValueError, match="whole number"):
        parse_int("-1", 1, 5)
    with pytest.raises(ValueError, match="1-5"):
        parse_int("6", 1, 5)


def test_references(tmp_path: Path) -> None:
    a, b = tmp_path / "a b.png", tmp_path / "c.png"
    a.write_bytes(b"x")
    b.write_bytes(b"x")
    assert parse_references(f"'{a}' {b}") == (a, b)
    with pytest.raises(ValueError, match="no such file"):
        parse_references(str(tmp_path / "missing.png"))
    with pytest.raises(ValueError, match="cannot split"):
        parse_references("'unclosed")


def test_read_form_gathers_every_problem() -> None:
    values = FormValues(prompt="  ", size=CUSTOM, custom_size="9x9", seed="x", count="0")
    kwargs, problems = read_form(values)
    assert {p.field for p in problems} == {"prompt", "size", "seed", "count"}


def test_read_form_builds_request_kwargs_and_skips_disabled() -> None:
    values = FormValues(
        prompt=" fox ", negative="blur", backend="mock", size="512x768", seed="5", steps="9",
        style="photo", count="2", disabled={"negative", "steps"},
    )  # fmt: skip
    kwargs, problems = read_form(values)
    assert problems == []
    assert kwargs == {
        "backend": "mock", "count": 2, "prompt": "fox", "style": "photo",
        "width": 512, "height": 768, "seed": 5,
    }  # fmt: skip
