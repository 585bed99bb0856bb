"""Preview costs, printed: decode+downscale, halfcell strips, kitty stream, sixel encoding.

.venv/bin/python tests/bench/graphics.py
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image
from rich.style import Style

from imagen_tui.tui.graphics import kitty, sixel
from imagen_tui.tui.graphics.fit import fit_cells, open_image
from imagen_tui.tui.widgets.image_strips import halfcell_strips

CELL = (9, 19)


def timed(fn: Callable[[], object], runs: int = 5) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000


def photo(size: tuple[int, int]) -> Image.Image:
    m = Image.effect_mandelbrot(size, (-2, -1.5, 1, 1.5), 60)
    return Image.merge(
        "RGB", [m, m.transpose(Image.Transpose.ROTATE_90), m.point(lambda v: 255 - v)]
    )


def report(big: Path, box: tuple[int, int]) -> None:
    px = (box[0] * CELL[0], box[1] * CELL[1])
    thumb = open_image(big, px)
    cols, rows = fit_cells(thumb.size, box, CELL)
    small = thumb.resize((cols, 2 * rows))
    ids = kitty.ImageIds()

    def kitty_stream() -> str:
        png = kitty.png_bytes(thumb)
        return kitty.wire(kitty.transmit_commands(ids.allocate(), png, cols, rows), True)

    encoded = sixel.encode(thumb, px, fill=True)
    print(f"box {box[0]}x{box[1]} cells ({px[0]}x{px[1]} px), thumbnail {thumb.size}")
    print(f"  open+downscale 4096² PNG   {timed(lambda: open_image(big, px), 3):8.1f} ms")
    strips = timed(lambda: halfcell_strips(small, *box, Style()))
    print(f"  halfcell strips            {strips:8.1f} ms")
    print(
        f"  kitty PNG+chunks for tmux  {timed(kitty_stream):8.1f} ms, "
        f"{len(kitty_stream()) / 1024:.0f} KiB"
    )
    print(
        f"  sixel, 255 colours, filled {timed(lambda: sixel.encode(thumb, px, fill=True), 3):8.1f}"
        f" ms, {len(encoded.data) / 1024:.0f} KiB, {encoded.width}x{encoded.height} px"
    )


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "big.png"
        photo((4096, 4096)).save(big)
        for box in ((40, 20), (100, 28), (200, 56)):
            report(big, box)


if __name__ == "__main__":
    main()
