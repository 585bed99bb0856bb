"""Pilot tests of ImagePreview: each renderer, fallbacks, resize, kitty bytes on the wire."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest
import textual.constants
from PIL import Image, ImageChops
from rich.console import Console
from textual.app import App, ComposeResult

from imagen_tui.tui.graphics import sixel
from imagen_tui.tui.graphics.fit import open_image
from imagen_tui.tui.widgets.image_preview import ImagePreview

from .decoders import decode_kitty, decode_placeholders, decode_sixel, unwrap_tmux
from .images import quadrants

SIZE = (40, 12)  # cells; conftest sets 10x20 px cells


class PreviewApp(App[None]):
    CSS = "Screen { background: black; } ImagePreview { background: black; }"

    def __init__(self, preview: ImagePreview) -> None:
        super().__init__()
        self.preview = preview

    def compose(self) -> ComposeResult:
        yield self.preview


def sync(test: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    """Run an async Pilot test with asyncio.run (no pytest-asyncio here)."""

    @functools.wraps(test)
    def run(*args: Any, **kwargs: Any) -> None:
        asyncio.run(test(*args, **kwargs))

    return run


async def settle(pilot) -> None:  # noqa: ANN001
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def cell_colours(preview: ImagePreview, y: int) -> list[tuple]:
    strip = preview.render_line(y)
    out = []
    for seg in strip:
        for char in seg.text:
            fg = seg.style.color.get_truecolor() if seg.style and seg.style.color else None
            bg = seg.style.bgcolor.get_truecolor() if seg.style and seg.style.bgcolor else None
            out.append((char, tuple(fg) if fg else None, tuple(bg) if bg else None))
    return out


@sync
async def test_halfcell_draws_the_picture_in_its_colours() -> None:
    preview = ImagePreview(quadrants((160, 120)), renderer="halfcell")
    async with PreviewApp(preview).run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert preview.effective_renderer == "halfcell"
        # 160x120 in 40x12 cells of 10x20 px: 400x240 box -> 320x240 -> 32x12 cells, centred
        top = cell_colours(preview, 2)
        assert top[4][0] == "▀" and top[4][1] == (255, 0, 0)
        assert top[35][1] == (0, 160, 0)
        bottom = cell_colours(preview, 9)
        assert bottom[4][1] == (255, 220, 0) and bottom[35][1] == (0, 0, 255)
        assert top[0][0] == " ", "the letterbox margin is blank, not stretched"


@sync
async def test_off_says_so() -> None:
    preview = ImagePreview(quadrants(), renderer="off")
    async with PreviewApp(preview).run_test(size=SIZE) as pilot:
        await settle(pilot)
        text = "".join(preview.render_line(y).text for y in range(12))
        assert "preview off" in text


@sync
async def test_unreadable_file_is_a_notice_not_a_blank(tmp_path: Path) -> None:
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"not a png")
    preview = ImagePreview(bad, renderer="halfcell")
    async with PreviewApp(preview).run_test(size=SIZE) as pilot:
        await settle(pilot)
        text = "".join(preview.render_line(y).text for y in range(12))
        assert "cannot show image" in text


@sync
async def test_failed_sixel_falls_back_to_halfcell_and_says_why_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def boom(*args, **kwargs):  # noqa: ANN002, ANN003
        raise ValueError("no room")

    monkeypatch.setattr(sixel, "encode", boom)
    said: list[str] = []
    monkeypatch.setattr(ImagePreview, "notify", lambda self, msg, **kw: said.append(msg))
    preview = ImagePreview(quadrants(), renderer="sixel")
    async with PreviewApp(preview).run_test(size=SIZE) as pilot:
        await settle(pilot)
        await settle(pilot)
        assert preview.effective_renderer == "halfcell"
        assert preview.render_line(5).text.strip("▀ ") == ""  # half-cell blocks are drawn
        preview.show(quadrants((90, 90)))
        await settle(pilot)
        assert len(said) == 1 and "sixel failed (ValueError: no room)" in said[0]


@sync
async def test_resize_prepares_the_picture_for_the_new_box() -> None:
    preview = ImagePreview(quadrants((160, 120)), renderer="halfcell")
    async with PreviewApp(preview).run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.resize_terminal(60, 20)
        await settle(pilot)
        assert preview._picture is not None and preview._picture.box == (60, 20)
        assert preview.render_line(19).cell_length == 60


@sync
async def test_renderer_is_reactive() -> None:
    preview = ImagePreview(quadrants(), renderer="halfcell")
    async with PreviewApp(preview).run_test(size=SIZE) as pilot:
        await settle(pilot)
        preview.renderer = "unicode"
        await settle(pilot)
        assert preview._picture is not None and preview._picture.renderer == "unicode"
        assert set("".join(preview.render_line(y).text for y in range(12))) <= set(" ░▒▓█")


@sync
async def test_sixel_stays_inside_its_box() -> None:
    preview = ImagePreview(quadrants((300, 300)), renderer="sixel")
    async with PreviewApp(preview).run_test(size=SIZE) as pilot:
        await settle(pilot)
        last = preview.render_line(11).text
        # the box touches the screen bottom, so the picture gets one row less (11 of 12)
        assert preview._picture is not None and preview._picture.box == (40, 11)
        data = preview._picture.sixel
        assert data is not None and data in preview.render_line(11).render(Console())
        assert last.startswith(" " * 40)
        picture = decode_sixel(data)
        assert picture.painted_height <= 11 * 20 and picture.declared[0] <= 40 * 10
        assert all(preview.render_line(y).text == "" for y in range(11))


@pytest.mark.parametrize(("in_tmux", "colours"), [(False, "truecolor"), (True, "256")])
@sync
async def test_kitty_stream_and_placeholders_rebuild_the_thumbnail(
    in_tmux: bool, colours: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(textual.constants, "COLOR_SYSTEM", colours)
    if in_tmux:
        monkeypatch.setenv("TMUX", "/tmp/x,1,0")
    wire: list[str] = []
    source = quadrants((160, 120))
    preview = ImagePreview(source, renderer="kitty", writer=wire.append)
    async with PreviewApp(preview).run_test(size=SIZE) as pilot:
        await settle(pilot)
        stream = "".join(wire)
        if in_tmux:
            assert "\x1b_G" not in stream.replace("\x1b\x1b_G", ""), "raw APC inside tmux"
            stream = unwrap_tmux(stream)
        state = decode_kitty(stream)
        (image_id,) = state.images
        thumb = open_image(source, (400, 240))
        assert ImageChops.difference(state.images[image_id], thumb).getbbox() is None
        assert state.placements[image_id] == (32, 12)
        console = Console(color_system=colours, force_terminal=True)
        lines = [preview.render_line(y).render(console) for y in range(12)]
        grid = decode_placeholders(lines)[image_id]
        assert grid == {(r, 4 + c): (r, c) for r in range(12) for c in range(32)}
        wire.clear()
        preview.show(quadrants((50, 50)))
        await settle(pilot)
        again = decode_kitty(unwrap_tmux("".join(wire)))
        assert again.deleted == [image_id] and len(again.images) == 1
        wire.clear()
    assert decode_kitty(unwrap_tmux("".join(wire))).deleted, "unmount frees the image"


@sync
async def test_kitty_without_256_colours_falls_back(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(textual.constants, "COLOR_SYSTEM", "standard")
    said: list[str] = []
    monkeypatch.setattr(ImagePreview, "notify", lambda self, msg, **kw: said.append(msg))
    wire: list[str] = []
    preview = ImagePreview(quadrants(), renderer="kitty", writer=wire.append)
    async with PreviewApp(preview).run_test(size=SIZE) as pilot:
        await settle(pilot)
        await settle(pilot)
        assert preview.effective_renderer == "halfcell" and wire == []
        assert "256 colours" in said[0]


@sync
async def test_big_images_are_downscaled_before_drawing(tmp_path: Path) -> None:
    path = tmp_path / "big.png"
    Image.new("RGB", (4096, 4096), (10, 200, 30)).save(path)
    preview = ImagePreview(path, renderer="halfcell")
    async with PreviewApp(preview).run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert cell_colours(preview, 5)[20][1] == (10, 200, 30)
