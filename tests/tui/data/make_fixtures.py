"""Regenerate the small committed viewer fixtures: `python tests/tui/data/make_fixtures.py`."""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image, ImageDraw

HERE = Path(__file__).parent
FIXTURES = {
    "1-dawn": ((250, 170, 90), (70, 90, 160), "a fox at dawn, [bracket] style, 35mm"),
    "2-noon": ((90, 180, 240), (240, 230, 120), "a lighthouse at noon"),
    "3-dusk": ((120, 60, 140), (240, 120, 60), "a city at dusk"),
}


def make(stem: str, sky: tuple[int, int, int], sun: tuple[int, int, int], prompt: str) -> None:
    """A 96x64 flat-colour scene (flat areas keep halfcell snapshots stable) and its sidecar."""
    img = Image.new("RGB", (96, 64), sky)
    draw = ImageDraw.Draw(img)
    draw.rectangle((0, 44, 95, 63), fill=(40, 110, 60))
    draw.rectangle((60, 10, 79, 29), fill=sun)
    img.save(HERE / f"{stem}.png", optimize=True)
    meta = {
        "prompt": prompt,
        "negative": "blurry",
        "backend": "mock",
        "model": "mock-1",
        "seed": 42,
        "steps": 20,
        "width": 96,
        "height": 64,
        "created_at": "2026-01-02T03:04:05+00:00",
        "cost_usd": 0.0,
        "request": {"prompt": prompt, "count": 1},
    }
    (HERE / f"{stem}.json").write_text(json.dumps(meta, indent=2) + "\n")


if __name__ == "__main__":
    for stem, (sky, sun, prompt) in FIXTURES.items():
        make(stem, sky, sun, prompt)
