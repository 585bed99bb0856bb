"""Paths whose names are not UTF-8 (a Latin-1 folder, bytes from a broken archive) are refused
where they enter, naming the byte: the index, sidecars and PNG text chunks are UTF-8, so such a
path used to fail after the image was made (and, on a paid backend, paid for)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PIL import Image

from imagen_tui.backends.text import not_utf8

from .helpers import cli, one_line

BAD = os.fsdecode(b"caf\xe9")  # "café" in Latin-1: argv gives it as a lone surrogate


@pytest.fixture
def bad_folder(tmp_path: Path) -> Path:
    folder = tmp_path / BAD
    folder.mkdir()
    Image.new("RGB", (32, 24), (200, 40, 40)).save(folder / "ref.png")
    return folder


def images_made(isolated_env: dict[str, Path]) -> list[Path]:
    return [p for p in isolated_env["data"].rglob("*") if p.is_file()]


def test_a_reference_with_a_non_utf8_name_is_a_usage_error(
    bad_folder: Path, isolated_env: dict[str, Path]
) -> None:
    done = cli("--once", "fox", "--size", "64x64", "--ref", str(bad_folder / "ref.png"))
    assert done.returncode == 2
    assert "--ref: " in one_line(done.stderr) and "byte 0xe9 is not UTF-8" in done.stderr
    assert images_made(isolated_env) == []


def test_an_output_folder_with_a_non_utf8_name_is_a_config_error(
    bad_folder: Path, isolated_env: dict[str, Path]
) -> None:
    done = cli("--once", "fox", "--size", "64x64", "--output", str(bad_folder / "out"))
    assert done.returncode == 2
    line = one_line(done.stderr)
    assert "output.dir: byte 0xe9 is not UTF-8" in line and "rename the folder" in line
    assert not (bad_folder / "out").exists()


def test_a_library_folder_with_a_non_utf8_name_is_refused_without_a_crash_report(
    bad_folder: Path, isolated_env: dict[str, Path]
) -> None:
    done = cli("library", "add", str(bad_folder))
    assert done.returncode == 1
    assert "byte 0xe9 is not UTF-8; rename the folder" in one_line(done.stderr)
    assert "internal error" not in done.stderr
    listed = cli("library", "list")
    assert listed.returncode == 0 and BAD not in listed.stdout


def test_not_utf8_names_the_first_undecodable_byte() -> None:
    assert not_utf8("plain") is None and not_utf8("café ✓") is None
    assert not_utf8(os.fsdecode(b"a\xff\xfeb")) == "byte 0xff is not UTF-8"
