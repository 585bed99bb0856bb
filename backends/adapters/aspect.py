"""Mapping a requested W×H to the aspect ratio a provider offers. Pure.

Providers such as Replicate's flux models take `aspect_ratio` ("16:9") rather than pixels. A
request's size is matched to the closest offered ratio, comparing logarithms so 2:1 and 1:2 are
equally far from 1:1; a size further than `tolerance` from every offer is refused, naming them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from ..errors import ErrorCode, ImagenError

DEFAULT_TOLERANCE = 0.12
"""Accept a ratio within 12 % of the requested one (e.g. 1000×1000 → 1:1, 1920×1080 → 16:9)."""


def ratio_value(ratio: str) -> float:
    """ "16:9" → 1.777…; raises ValueError on anything else."""
    left, sep, right = ratio.partition(":")
    if not sep:
        raise ValueError(f"not an aspect ratio: {ratio!r}")
    w, h = float(left), float(right)
    if w <= 0 or h <= 0 or not (math.isfinite(w) and math.isfinite(h)):
        raise ValueError(f"not an aspect ratio: {ratio!r}")
    return w / h


def nearest_ratio(
    width: int, height: int, offered: Iterable[str], *, tolerance: float = DEFAULT_TOLERANCE
) -> str:
    """The offered ratio closest to `width`/`height` (pixels).

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
