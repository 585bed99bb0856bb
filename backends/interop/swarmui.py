"""SwarmUI parameters: a JSON object {"sui_image_params": {...}, "sui_extra_data": {...}} in
the `parameters` PNG chunk (JPEG/WebP: EXIF UserComment).

Keys (SwarmUI `T2IParamTypes` ids as saved by `T2IParamInput.GenRawMetadata`,
https://github.com/mcmonkeyprojects/SwarmUI, read 2026-11-29): prompt, negativeprompt, seed,
steps, cfgscale, sampler, scheduler, model, loras (names) with loraweights (same order),
width, height, swarm_version, and any other parameter the user set.
"""

from __future__ import annotations

from typing import Any

from .recipe import Fields, Lora, extra_of, to_float

_MAPPED = frozenset(
    {"prompt", "negativeprompt", "seed", "steps", "cfgscale", "sampler", "scheduler", "model",
     "loras", "loraweights"}
)  # fmt: skip


def is_swarmui(data: dict[str, Any]) -> bool:
    """Whether a JSON object is SwarmUI's parameters."""
    return isinstance(data.get("sui_image_params"), dict)


def _loras(params: dict[str, Any]) -> list[Lora]:
    names, weights = params.get("loras"), params.get("loraweights")
    names = names if isinstance(names, list) else []
    weights = weights if isinstance(weights, list) else []
    return [
        Lora(name, to_float(weights[i]) if i < len(weights) else None)
        for i, name in enumerate(names)
        if isinstance(name, str)
    ]


def swarmui_fields(data: dict[str, Any]) -> Fields:
    """Recipe fields from SwarmUI's JSON parameters."""
    params: dict[str, Any] = data["sui_image_params"]
    extra = extra_of(params, _MAPPED)
    if isinstance(data.get("sui_extra_data"), dict):
        extra |= extra_of(data["sui_extra_data"], frozenset())
    return {
        "prompt": params.get("prompt"),
        "negative": params.get("negativeprompt"),
        "seed": params.get("seed"),
        "steps": params.get("steps"),
        "cfg": params.get("cfgscale"),
        "sampler": params.get("sampler"),
        "scheduler": params.get("scheduler"),
        "model": params.get("model"),
        "loras": _loras(params),
        "extra": extra,
    }
