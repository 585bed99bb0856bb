"""What an OpenAI image costs, in USD: an estimate before sending, the real cost from `usage`.

Source: `shared/reference/providers.md` §1 "Pricing", checked 2026-11-29 — OpenAI model pages
(developers.openai.com/api/docs/models/{gpt-image-1,gpt-image-1-mini,gpt-image-2.6-sunburst});
gpt-image-2/2.5 token rates and gpt-image-1.5 per-image prices are third-party (docs.apiyi.com,
runware.ai) and marked ⚠️ there. Prices churn: this table is a default, not a promise.

Token-priced models are estimated with gpt-image-1's image-token counts (OpenAI image-generation
guide: 1024x1024 low/medium/high = 272/1056/4160 output tokens, 1024x1536 = 408/1584/6240, i.e.
linear in pixels; consistent with the per-image prices below at $40 per 1M image tokens). Whether
newer models use the same counts is unconfirmed. `auto` quality is priced as `high` (an upper
bound, so a daily budget is never under-counted); `xhigh`/`max` have no known price (None).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .openai_models import model_family

PRICING_SOURCE = "shared/reference/providers.md §1 (OpenAI model pages; some rates third-party)"
PRICING_DATE = "2026-11-29"

SQUARE_PIXELS = 1024 * 1024
SQUARE_OUTPUT_TOKENS = {"low": 272, "medium": 1056, "high": 4160}
"""gpt-image-1 image output tokens of one 1024x1024 image, by quality."""
CHARS_PER_TOKEN = 4
"""Rough English text-token size, for the prompt's share of an estimate."""


@dataclass(frozen=True, slots=True)
class TokenRates:
    """USD per 1M tokens; None where no source gives the rate."""

    text_in: float
    image_in: float
    image_out: float | None


TOKEN_RATES: dict[str, TokenRates] = {
    "gpt-image-2.6-sunburst": TokenRates(5.0, 8.0, 30.0),
    "gpt-image-2.5-sunburst": TokenRates(5.0, 8.0, 30.0),
    "gpt-image-2.5-flare": TokenRates(5.0, 8.0, 30.0),
    "gpt-image-2": TokenRates(5.0, 8.0, 30.0),
    "gpt-image-1.5": TokenRates(5.0, 8.0, None),
    "gpt-image-1-mini": TokenRates(2.0, 2.5, 8.0),
    "gpt-image-1": TokenRates(5.0, 10.0, 40.0),
}

PER_IMAGE: dict[str, dict[str, tuple[float, float]]] = {
    "gpt-image-1.5": {"low": (0.009, 0.013), "medium": (0.034, 0.05), "high": (0.133, 0.20)},
    "gpt-image-1-mini": {"low": (0.005, 0.006), "medium": (0.011, 0.015), "high": (0.036, 0.052)},
    "gpt-image-1": {"low": (0.011, 0.016), "medium": (0.042, 0.063), "high": (0.167, 0.25)},
}
"""USD per image by quality: (1024x1024, other preset sizes)."""


def estimate_image_cost(
    model: str, quality: str, width: int, height: int, prompt: str = ""
) -> float | None:
    """Estimated USD for one `width`×`height` image of `model` at `quality`; None if unknown.

    Per-image prices win where the model has them; otherwise image output tokens (scaled by
    pixels) times the output rate, plus the prompt's text tokens times the input rate.
    """
    family = model_family(model)
    if family is None:
        return None
    level = "high" if quality == "auto" else quality
    if level not in SQUARE_OUTPUT_TOKENS:
        return None
    table = PER_IMAGE.get(family.name)
    if table is not None:
        square, other = table[level]
        return square if width == height == 1024 else other
    rates = TOKEN_RATES.get(family.name)
    if rates is None or rates.image_out is None:
        return None
    out_tokens = SQUARE_OUTPUT_TOKENS[level] * (width * height) / SQUARE_PIXELS
    in_tokens = len(prompt) / CHARS_PER_TOKEN
    return round((out_tokens * rates.image_out + in_tokens * rates.text_in) / 1e6, 6)


def cost_from_usage(model: str, usage: Mapping[str, Any] | None) -> float | None:
    """USD from an Images API `usage` object (tokens × rates); None when rates or usage are
    missing. Shape: {"input_tokens", "input_tokens_details": {"text_tokens", "image_tokens"},
    "output_tokens", "output_tokens_details"?: {"image_tokens", "text_tokens"}}."""
    family = model_family(model)
    rates = TOKEN_RATES.get(family.name) if family else None
    if rates is None or rates.image_out is None or not isinstance(usage, Mapping):
        return None
    in_details = _mapping(usage.get("input_tokens_details"))
    out_details = _mapping(usage.get("output_tokens_details"))
    text_in = _count(in_details.get("text_tokens"))
    image_in = _count(in_details.get("image_tokens"))
    if not in_details:
        text_in = _count(usage.get("input_tokens"))
    image_out = _count(out_details.get("image_tokens", usage.get("output_tokens")))
    total = text_in * rates.text_in + image_in * rates.image_in + image_out * rates.image_out
    return round(total / 1e6, 6)


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0
