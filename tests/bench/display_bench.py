"""Benchmark `open_for_display` on huge upscales: time and peak memory per format.

Run: .venv/bin/python tests/bench/display_bench.py [megapixels]   (default 182)
Writes a JPEG, an RGB PNG and an RGBA PNG of that size (≈ 14000×13000 for 182 MP), then opens
each in a fresh process with a 400×400 box and prints seconds and that process's peak RSS
next to the size of the full-size pixels in Pillow's memory (the bar: never held twice).
Measured 2026-11-30, 181 MP: JPEG 0.5 s / 31 MB (libjpeg draft at 1/8); RGB PNG 8.4 s /
709 MB and RGBA PNG 9.4 s / 710 MB against 690 MB of pixels (decoded once, then reduced).
"""

from __future__ import annotations

import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image, ImageDraw

# VmHWM, not ru_maxrss: Linux carries ru_maxrss across exec, so a child would report the
# parent's peak (which held the full image while writing it).
CHILD = """
import re, sys, time
from imagen_tui.backends.imaging import open_for_display
start = time.perf_counter()
im = open_for_display(sys.argv[1], 400, 400)
took = time.perf_counter() - start
status = open("/proc/self/status").read()
peak = int(re.search(r"VmHWM:\\s+(\\d+)", status).group(1)) / 1024
print(f"{took:.2f} {peak:.0f} {im.size[0]}x{im.size[1]} {im.mode}")
"""


def make(path: Path, mode: str, size: tuple[int, int]) -> None:
    Image.MAX_IMAGE_PIXELS = None
    im = Image.new(mode, size, (30, 60, 90, 255)[: len(mode)])
    draw = ImageDraw.Draw(im)
    for i in range(0, size[0], size[0] // 16):  # some structure, so encoders do real work
        draw.rectangle((i, 0, i + size[0] // 32, size[1]), fill=(200, 120, 40, 128)[: len(mode)])
    im.save(path, quality=90) if path.suffix == ".jpg" else im.save(path, compress_level=1)


def main() -> None:
    megapixels = float(sys.argv[1]) if len(sys.argv) > 1 else 182
    side = int(math.sqrt(megapixels * 1e6))
    size = (side + side // 13, side - side // 13)
    with tempfile.TemporaryDirectory() as tmp:
        for name, mode in (("huge.jpg", "RGB"), ("huge.png", "RGB"), ("huge-alpha.png", "RGBA")):
            path = Path(tmp) / name
            start = time.perf_counter()
            make(path, mode, size)
            made = time.perf_counter() - start
            full_mb = size[0] * size[1] * 4 / 2**20  # Pillow keeps RGB as 4 bytes a pixel too
            out = subprocess.run(
                [sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True
            )
            if out.returncode:
                print(f"{name}: failed: {out.stderr.strip().splitlines()[-1]}")
                continue
            took, peak, shown, shown_mode = out.stdout.split()
            print(
                f"{name} {size[0]}x{size[1]} ({size[0] * size[1] / 1e6:.0f} MP, "
                f"{path.stat().st_size / 2**20:.0f} MB file, made in {made:.0f} s): "
                f"{took} s, peak RSS {peak} MB vs {full_mb:.0f} MB of full-size pixels "
                f"-> {shown} {shown_mode}"
            )


if __name__ == "__main__":
    main()
