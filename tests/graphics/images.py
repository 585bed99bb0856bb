"""Deterministic test pictures."""

from __future__ import annotations

import random

from PIL import Image


def quadrants(size: tuple[int, int] = (160, 120)) -> Image.Image:
    """Four flat colours (red, green, blue, yellow), clockwise from the top left."""
    w, h = size
    image = Image.new("RGB", size, (255, 0, 0))
    image.paste((0, 160, 0), (w // 2, 0, w, h // 2))
    image.paste((0, 0, 255), (w // 2, h // 2, w, h))
    image.paste((255, 220, 0), (0, h // 2, w // 2, h))
    return image


def noise(size: tuple[int, int], seed: int = 7) -> Image.Image:
    """Random pixels: big after PNG compression, so transmissions need several chunks."""
    rng = random.Random(seed)
    return Image.frombytes(
        "RGB", size, bytes(rng.randrange(256) for _ in range(size[0] * size[1] * 3))
    )
