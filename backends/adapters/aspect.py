"""Pixel sizes ↔ aspect ratio + size tier, for providers that take no width and height.

Gemini (`imageConfig.aspectRatio` + `imageSize`) and xAI (`aspect_ratio` + `resolution`) make
images of a named ratio at a roughly constant area per tier; the real size is read from the
returned bytes. A request's `WxH` is mapped to the ratio within `TOLERANCE` of it and the tier
whose area is nearest (on a log scale); `nominal_size` turns the choice back into a `WxH` that
maps to the same choice again (a unit test checks the round trip). Pure: no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..errors import ErrorCode, ImagenError
from ..models import MAX_SIDE, MIN_SIDE

TOLERANCE = 0.03
"""Largest relative difference between a request's W/H and a named ratio that still matches."""
STEP = 8
"""Nominal sizes are multiples of this many pixels."""


@dataclass(frozen=True, slots=True)
class Shape:
    """A named aspect ratio ("16:9") and size tier ("2K") as the provider spells them."""

    ratio: str
    tier: str


def ratio_value(ratio: str) -> float:
    """ "16:9" → 1.777…, "9:19.5" → 0.4615…; ValueError when it is not `W:H` with W, H > 0."""
    left, sep, right = ratio.partition(":")
    if not sep:
        raise ValueError(f"not a ratio: {ratio!r}")
    w, h = float(left), float(right)
    if not (w > 0 and h > 0 and math.isfinite(w) and math.isfinite(h)):
        raise ValueError(f"not a ratio: {ratio!r}")
    return w / h


def nearest_ratio(width: int, height: int, ratios: Sequence[str]) -> str | None:
    """The ratio in `ratios` closest to width/height, or None when none is within TOLERANCE.

    Entries that are not `W:H` (such as "auto") are skipped.
    """
    want = width / height
    best, best_err = None, TOLERANCE
    for ratio in ratios:
        try:
            err = abs(ratio_value(ratio) / want - 1.0)
        except ValueError:
            continue
        if err <= best_err:
            best, best_err = ratio, err
    return best


def nearest_tier(width: int, height: int, tiers: Mapping[str, float]) -> str:
    """The tier whose area (`tiers`: name → megapixels) is nearest to width×height on a log
    scale; a tie goes to the smaller (cheaper) tier."""
    area = width * height / 1e6
    ranked = sorted(tiers.items(), key=lambda kv: (abs(math.log(kv[1] / area)), kv[1]))
    return ranked[0][0]


def nominal_size(ratio: str, megapixels: float) -> tuple[int, int]:
    """A `(width, height)` of about `megapixels` at `ratio`, multiples of STEP, each side
    within MIN_SIDE..MAX_SIDE (the area shrinks when a side would pass MAX_SIDE)."""
    r = ratio_value(ratio)
    width = math.sqrt(megapixels * 1e6 * r)
    height = width / r
    scale = min(1.0, MAX_SIDE / max(width, height))
    width, height = width * scale, height * scale
    return _snap(width), _snap(height)


def _snap(side: float) -> int:
    snapped = int(round(side / STEP)) * STEP
    return max(MIN_SIDE, min(MAX_SIDE - MAX_SIDE % STEP, snapped))


def choose_shape(
    width: int,
    height: int,
    *,
    ratios: Sequence[str],
    tiers: Mapping[str, float],
    ratio: str | None = None,
    tier: str | None = None,
    who: str = "this backend",
) -> Shape:
    """The shape to ask for: `ratio`/`tier` when given (explicit options win), else the ones
    nearest to `width`×`height`.

    Raises `ImagenError(BAD_REQUEST)` naming the allowed ratios when the size matches none, or
    the allowed tiers when an explicit tier is not in `tiers`.
    """
    if tier is not None:
        check_tier(tier, tiers, who)
    chosen = ratio or nearest_ratio(width, height, ratios)
    if chosen is None:
        named = ", ".join(r for r in ratios if ":" in r)
        raise ImagenError(
            ErrorCode.BAD_REQUEST,
            f"{who} cannot make {width}x{height} (ratio {width / height:.3g}); allowed aspect "
            f"ratios: {named}; pick a size of one of them or set -o aspect_ratio=W:H",
        )
    if tier is None:
        # Compare with the sizes each tier really has at this ratio: big tiers of extreme
        # ratios are clamped to MAX_SIDE, and then two tiers may even share one size.
        areas = {t: math.prod(nominal_size(chosen, mp)) / 1e6 for t, mp in tiers.items()}
        tier = nearest_tier(width, height, areas)
    return Shape(chosen, tier)


def check_tier(tier: str, tiers: Mapping[str, float], who: str) -> None:
    """Raise `ImagenError(BAD_REQUEST)` naming the allowed tiers unless `tier` is one."""
    if tier not in tiers:
        allowed = ", ".join(tiers)
        raise ImagenError(ErrorCode.BAD_REQUEST, f"{who} has no size {tier}; allowed: {allowed}")


def preset_sizes(ratios: Sequence[str], megapixels: float) -> tuple[str, ...]:
    """ "WxH" presets: every `W:H` ratio of `ratios` at `megapixels` (for `Backend.sizes`)."""
    sizes = []
    for ratio in ratios:
        if ":" in ratio:
            w, h = nominal_size(ratio, megapixels)
            sizes.append(f"{w}x{h}")
    return tuple(sizes)


OFFERED_TOLERANCE = 0.12
"""For `offered_ratio`: accept a ratio within 12 % (1000×1000 → 1:1, 1920×1080 → 16:9)."""


def offered_ratio(
    width: int, height: int, offered: Sequence[str], *, tolerance: float = OFFERED_TOLERANCE
) -> str:
    """The offered ratio closest to `width`/`height` (pixels), compared on a log scale so 2:1
    and 1:2 are equally far from 1:1 (Replicate's flux models take only `aspect_ratio`).

    Raises `ImagenError(BAD_REQUEST)` naming the offered ratios when none is within
    `tolerance` (a fraction: 0.12 = 12 %).
    """
    choices = list(offered)
    wanted = math.log(width / height)
    best = min(choices, key=lambda r: abs(math.log(ratio_value(r)) - wanted))
    if abs(math.log(ratio_value(best)) - wanted) > math.log1p(tolerance):
        raise ImagenError(
            ErrorCode.BAD_REQUEST,
            f"no aspect ratio close to {width}x{height}; allowed: {', '.join(choices)}",
        )
    return best
