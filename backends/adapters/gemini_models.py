"""What imagen-tui knows about Gemini image models: tiers, ratios, prices, retirements.

Models are free strings (gateways keep old names alive): an unknown model gets every ratio and
tier and no price; a retired one gets a warning, never a refusal. Pure data.

Sources, read 2026-11-29: shared/reference/providers.md §2 (google-genai 3.6.1 model list and
`ImageConfig`; ai.google.dev/gemini-api/docs/deprecations; firebase.google.com/docs/ai-logic/
generate-images-imagen) and, for 3.1 Flash Image tiers and prices, HeyPuter/puter PR #2562.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_MODEL = "gemini-3.1-flash-image"

BASE_RATIOS = ("1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9")
ALL_RATIOS = (*BASE_RATIOS, "1:4", "4:1", "1:8", "8:1")
"""`imageConfig.aspectRatio` values; the last four on newer models only."""
TIER_MEGAPIXELS: Mapping[str, float] = {
    "512": 512**2 / 1e6,
    "1K": 1024**2 / 1e6,
    "2K": 2048**2 / 1e6,
    "4K": 4096**2 / 1e6,
}
"""`imageConfig.imageSize` tiers and their rough area (tiers are about constant area)."""
ALL_TIERS = tuple(TIER_MEGAPIXELS)

PRICES_SOURCE = (
    "USD per image from providers.md §2 (third-party mirrors of ai.google.dev/pricing; "
    "3.1 Flash Image per tier from HeyPuter/puter PR #2562), read 2026-11-29; verify them"
)


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """Tiers and ratios a model makes and its USD price per image by tier (PRICES_SOURCE)."""

    tiers: tuple[str, ...]
    ratios: tuple[str, ...]
    prices: Mapping[str, float]


_FLASH_31 = ModelInfo(ALL_TIERS, ALL_RATIOS, {"512": 0.045, "1K": 0.067, "2K": 0.101, "4K": 0.151})
_PRO_3 = ModelInfo(("1K", "2K", "4K"), BASE_RATIOS, {"1K": 0.134, "2K": 0.134, "4K": 0.24})
_FLASH_25 = ModelInfo(("1K",), BASE_RATIOS, {"1K": 0.039})

MODELS: Mapping[str, ModelInfo] = {
    "gemini-3.1-flash-image": _FLASH_31,
    "gemini-3.1-flash-image-preview": _FLASH_31,
    "gemini-3-pro-image": _PRO_3,
    "gemini-3-pro-image-preview": _PRO_3,
    "nano-banana-pro-preview": _PRO_3,
    "gemini-2.5-flash-image": _FLASH_25,
    "gemini-2.5-flash-image-preview": _FLASH_25,
}

RETIRED: Mapping[str, str] = {
    "gemini-3-pro-image-preview": "was shut down on 2026-06-25; use gemini-3-pro-image",
    "gemini-3.1-flash-image-preview": "was shut down on 2026-06-25; use gemini-3.1-flash-image",
    "gemini-2.5-flash-image": "could be shut down from 2026-10-02; use gemini-3.1-flash-image",
    "gemini-2.5-flash-image-preview": "was retired; use gemini-3.1-flash-image",
}
IMAGEN_NOTE = (
    "Imagen models were shut down on 2026-08-17 and used :predict, not generateContent; "
    "Google maps them to gemini-3.1-flash-image"
)


def model_info(model: str) -> ModelInfo | None:
    """What is known of `model` ("models/" prefix accepted); None when it is unknown."""
    return MODELS.get(model.removeprefix("models/"))


def retirement_note(model: str) -> str | None:
    """One line when `model` is known to be retired (a gateway may still serve it)."""
    name = model.removeprefix("models/")
    if name.startswith("imagen-"):
        return f"{name}: {IMAGEN_NOTE}"
    note = RETIRED.get(name)
    return f"model {name} {note} (a gateway may still serve it)" if note else None
