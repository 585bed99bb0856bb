"""Byte-level tests of the kitty path: what a kitty terminal (behind tmux or not) would see."""

from __future__ import annotations

import pytest
from PIL import Image, ImageChops
from rich.color import Color, ColorSystem
from rich.console import Console
from rich.style import Style

from imagen_tui.tui.graphics import kitty
from imagen_tui.tui.widgets.image_strips import placeholder_strips

from .decoders import decode_kitty, decode_placeholders, unwrap_tmux
from .images import noise, quadrants


def same_pixels(a: Image.Image, b: Image.Image) -> bool:
    return (
        a.size == b.size
        and ImageChops.difference(a.convert("RGB"), b.convert("RGB")).getbbox() is None
    )


@pytest.mark.parametrize("passthrough", [False, True])
def test_transmission_rebuilds_the_thumbnail(passthrough: bool) -> None:
    thumb = noise((120, 90))
    image_id = kitty.ImageIds(msb=9).allocate()
    commands = kitty.transmit_commands(image_id, kitty.png_bytes(thumb), 12, 5)
    stream = kitty.wire(commands, passthrough)
    if passthrough:
        assert stream.startswith("\x1bPtmux;\x1b\x1b_G") and stream.endswith("\x1b\\")
        stream = unwrap_tmux(stream)
    state = decode_kitty(stream)
    assert same_pixels(state.images[image_id], thumb)
    assert state.placements == {image_id: (12, 5)}
    assert len(state.chunk_sizes) > 2, "noise must need several chunks"
    assert all(size <= kitty.CHUNK for size in state.chunk_sizes)
    assert set(state.quiet) == {"2"}, "every command must silence the terminal's replies"


def test_passthrough_doubles_every_escape_and_nothing_else() -> None:
    sequence = kitty.command({"a": "d", "d": "I", "i": 5})
    wrapped = kitty.tmux_wrap(sequence)
    inner = wrapped[len("\x1bPtmux;") : -2]
    assert inner == sequence.replace("\x1b", "\x1b\x1b")
    assert unwrap_tmux(wrapped) == sequence


def test_delete_frees_the_image() -> None:
    state = decode_kitty(unwrap_tmux(kitty.wire([kitty.delete_command(77)], True)))
    assert state.deleted == [77]


@pytest.mark.parametrize("system", ["truecolor", "256"])
def test_placeholder_cells_decode_to_the_placement_grid(system: str) -> None:
    ids = kitty.ImageIds(msb=200)
    image_id = ids.allocate()
    strips = placeholder_strips(
        image_id, 7, 4, 11, 6, system == "truecolor", Style(bgcolor="black")
    )
    console = Console(color_system=system, force_terminal=True, width=20)
    rendered = [strip.render(console) for strip in strips]
    assert all(strip.cell_length == 11 for strip in strips)
    grids = decode_placeholders(rendered)
    assert set(grids) == {image_id}
    grid = grids[image_id]
    # centred: 2 columns and 1 row of margin before the 7x4 placement
    assert grid == {(1 + r, 2 + c): (r, c) for r in range(4) for c in range(7)}


def test_every_low_byte_survives_the_256_colour_downgrade() -> None:
    for low in kitty.LOW_BYTES:
        colour = Color.from_rgb(*kitty.xterm_256_rgb(low)).downgrade(ColorSystem.EIGHT_BIT)
        assert colour.number == low
    assert len(kitty.LOW_BYTES) > 150


def test_ids_cycle_and_keep_their_msb() -> None:
    ids = kitty.ImageIds(msb=3)
    seen = [ids.allocate() for _ in range(len(kitty.LOW_BYTES))]
    assert len(set(seen)) == len(kitty.LOW_BYTES)
    assert {i >> 24 for i in seen} == {3}
    with pytest.raises(ValueError):
        kitty.ImageIds(msb=0)


def test_placement_size_limits() -> None:
    with pytest.raises(ValueError):
        kitty.placeholder_rows(kitty.ImageIds(msb=1).allocate(), kitty.MAX_CELLS + 1, 1)
    with pytest.raises(ValueError):
        list(kitty.transmit_commands(5, b"png", 0, 3))


def test_quadrant_thumbnail_round_trips_exactly() -> None:
    thumb = quadrants((64, 48))
    image_id = kitty.ImageIds(msb=1).allocate()
    state = decode_kitty(
        kitty.wire(kitty.transmit_commands(image_id, kitty.png_bytes(thumb), 8, 3), False)
    )
    assert same_pixels(state.images[image_id], thumb)
