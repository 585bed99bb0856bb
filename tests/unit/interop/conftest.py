"""Shared helpers for the interop tests: fixture paths and small image builders."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

from hypothesis.configuration import set_hypothesis_home_dir
from PIL import Image
from PIL.PngImagePlugin import PngInfo

DATA = Path(__file__).resolve().parents[2] / "data" / "interop"

# See test_store_files: keep hypothesis' cache out of the repo root.
set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "imagen-tui-hypothesis")


def fixture(name: str) -> Path:
    """A copied interop fixture, e.g. fixture("utf8-in-tEXt/utf8_in_tEXt.png")."""
    return DATA / name


def png_with(path: Path, size: tuple[int, int] = (32, 24), **texts: str) -> Path:
    """Write an RGB PNG with tEXt/iTXt chunks {keyword: text} to `path`."""
    info = PngInfo()
    for key, value in texts.items():
        try:
            value.encode("latin-1")
            info.add_text(key, value)
        except UnicodeEncodeError:
            info.add_itxt(key, value)
    Image.new("RGB", size, (90, 120, 150)).save(path, "PNG", pnginfo=info)
    return path


def user_comment_exif(text: str, order: str = "be") -> bytes:
    """EXIF bytes holding `text` as a UNICODE UserComment (UTF-16, byte order `order`)."""
    exif = Image.Exif()
    body = text.encode("utf-16-be" if order == "be" else "utf-16-le")
    exif.get_ifd(0x8769)[0x9286] = b"UNICODE\0" + body
    return exif.tobytes()


def encoded(fmt: str, size: tuple[int, int] = (40, 30), **save: object) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (10, 20, 30)).save(buf, fmt, **save)  # type: ignore[arg-type]
    return buf.getvalue()
