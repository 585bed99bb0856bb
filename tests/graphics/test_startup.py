"""Start-up wiring: detection in one call, typed keys replayed, the preview app, no Textual
in the pure graphics modules."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from imagen_tui.tui.graphics.startup import detect_graphics
from imagen_tui.tui.preview_app import PreviewApp
from imagen_tui.tui.widgets.image_preview import ImagePreview
from imagen_tui.tui.widgets.typed_keys import replay_typed

from .images import quadrants

PURE = ["detect", "doctor", "fit", "kitty", "probe", "sixel", "startup"]


def test_pure_graphics_modules_import_neither_textual_nor_rich() -> None:
    code = (
        "import importlib, json, sys\n"
        f"for m in {PURE!r}: importlib.import_module('imagen_tui.tui.graphics.' + m)\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('textual', 'textual_image', 'rich'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == []


def test_detection_settings_and_off(tmp_path: Path) -> None:
    off = detect_graphics(None, None, tmp_path, env={"IMAGEN_RENDERER": "off"})
    assert off.requested == "off" and off.decision.renderer == "off" and off.typed == b""
    forced = detect_graphics("unicode", "sixel", tmp_path, env={"TERM": "xterm"})
    assert forced.decision.renderer == "unicode" and forced.advice is None
    with pytest.raises(ValueError):
        detect_graphics("bogus", None, None, env={})


class Keys(App[None]):
    BINDINGS = [Binding("j", "add('j')"), Binding("up", "add('up')")]

    def __init__(self) -> None:
        super().__init__()
        self.got: list[str] = []

    def compose(self) -> ComposeResult:
        yield Static("keys")

    def action_add(self, key: str) -> None:
        self.got.append(key)


def test_typed_bytes_become_the_same_key_events() -> None:
    async def main() -> None:
        app = Keys()
        async with app.run_test() as pilot:
            assert replay_typed(app, b"j\x1b[Aj") == 3
            await pilot.pause()
            assert app.got == ["j", "up", "j"]
            assert replay_typed(app, b"") == 0

    asyncio.run(main())


def test_preview_app_cycles_renderers_and_reports(tmp_path: Path) -> None:
    picture, status = tmp_path / "q.png", tmp_path / "status"
    quadrants().save(picture)
    startup = detect_graphics("halfcell", None, tmp_path, env={"TERM": "xterm"})
    ImagePreview.configure(startup.decision, startup.cell_px)

    async def main() -> None:
        app = PreviewApp(picture, startup, status)
        async with app.run_test(size=(60, 20)) as pilot:
            await pilot.pause()
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert status.read_text().strip() == "halfcell"
            assert app.title == "q.png (halfcell)"
            await pilot.press("r")  # halfcell -> unicode
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert app.query_one(ImagePreview).renderer == "unicode"
            assert app.title == "q.png (unicode)"

    try:
        asyncio.run(main())
    finally:
        ImagePreview.configure(None, None)
