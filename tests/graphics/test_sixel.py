"""The sixel encoder's output, decoded: size within the box, bands of six, colour count."""

from __future__ import annotations

import pytest
from PIL import ImageChops, ImageStat
from rich.console import Console
from rich.style import Style

from imagen_tui.tui.graphics import sixel
from imagen_tui.tui.widgets.image_strips import sixel_strips

from .decoders import decode_sixel
from .images import noise, quadrants


@pytest.mark.parametrize(
    ("source", "box"),
    [((160, 120), (90, 61)), ((160, 120), (400, 533)), ((50, 300), (80, 100)), ((7, 7), (20, 11))],
)
def test_picture_fits_its_box_in_whole_bands(source: tuple[int, int], box: tuple[int, int]) -> None:
    encoded = sixel.encode(quadrants(source), box)
    picture = decode_sixel(encoded.data)
    assert picture.declared == (encoded.width, encoded.height)
    assert encoded.height % 6 == 0 and picture.painted_height == encoded.height
    assert encoded.width <= box[0] and encoded.height <= box[1]


def test_colours_are_the_source_colours() -> None:
    encoded = sixel.encode(quadrants((120, 96)), (120, 96))
    picture = decode_sixel(encoded.data)
    assert encoded.colours == len(picture.registers) <= 8  # four flat colours, edges resampled
    img = picture.image
    w, h = img.size
    for (x, y), expected in {(w // 4, h // 4): (255, 0, 0), (3 * w // 4, h // 4): (0, 160, 0),
                             (3 * w // 4, 3 * h // 4): (0, 0, 255),
                             (w // 4, 3 * h // 4): (255, 220, 0)}.items():  # fmt: skip
        got = img.getpixel((x, y))
        assert max(abs(a - b) for a, b in zip(got, expected, strict=True)) <= 3, (x, y, got)


@pytest.mark.parametrize("colours", [2, 16, 255])
def test_colour_count_is_bounded(colours: int) -> None:
    encoded = sixel.encode(noise((60, 48)), (60, 48), colours=colours)
    picture = decode_sixel(encoded.data)
    assert 2 <= len(picture.registers) == encoded.colours <= colours


def test_noise_decodes_close_to_the_source() -> None:
    source = noise((48, 36), seed=3).resize((48, 36))
    encoded = sixel.encode(source, (48, 36))
    decoded = decode_sixel(encoded.data).image.crop((0, 0, 48, 36))
    diff = ImageStat.Stat(ImageChops.difference(decoded, source)).mean
    assert max(diff) < 40  # 255 colours for random noise: close, not exact


def test_fill_covers_the_box_with_background() -> None:
    encoded = sixel.encode(quadrants((40, 40)), (100, 50), fill=True, background=(9, 9, 9))
    picture = decode_sixel(encoded.data)
    assert (encoded.width, encoded.height) == (100, 48)
    assert picture.image.getpixel((2, 20)) == (8, 8, 8)  # 9/255 → 3% → 8: percent registers
    assert picture.image.getpixel((50, 10)) != (8, 8, 8)


def test_boxes_too_small_and_bad_colour_counts_raise() -> None:
    with pytest.raises(ValueError):
        sixel.encode(quadrants(), (50, 5))
    with pytest.raises(ValueError):
        sixel.encode(quadrants(), (50, 50), colours=1)


def test_strips_draw_on_the_last_line_and_return_the_cursor() -> None:
    data = sixel.encode(quadrants((20, 20)), (20, 18)).data
    strips = sixel_strips(data, 3, 2, 5, 4, Style(bgcolor="black"))
    assert len(strips) == 4 and all(s.cell_length == 5 for s in strips)
    assert all(s.text == "" for s in strips[:3])
    out = strips[3].render(Console(color_system="truecolor", force_terminal=True))
    clear, rest = out.split("\x1b[3;4H", 1)  # move to row 3, column 4 (1-based)
    assert clear.endswith(" " * 5 + "\x1b[0m")
    assert rest.startswith(data) and rest.endswith(
        "\x1b[6;9H"
    )  # row 6 = the box's last (y 2..5), column after it
