"""Fooocus parameters: a JSON object in the `parameters` PNG chunk (JPEG/WebP: EXIF
UserComment), with `fooocus_scheme` / `metadata_scheme` = "fooocus".

Keys (Fooocus `modules/meta_parser.py`, `FooocusMetadataParser.to_json`,
https://github.com/lllyasviel/Fooocus, read 2026-11-29): prompt, negative_prompt, seed (a string:
Fooocus seeds go up to 2**63), steps, guidance_scale, sampler, scheduler, base_model,
base_model_hash, loras ([[name, weight, hash]]; older versions `lora_combined_N` = "name : w"),
styles, performance, resolution "(w, h)", version. Fooocus' "a1111" scheme writes infotext
instead, read by `a1111`.
"""

from __future__ import annotations

from typing import Any

from .recipe import Fields, Lora, extra_of, to_float

_MAPPED = frozenset(
    {"prompt", "negative_prompt", "seed", "steps", "guidance_scale", "sampler", "scheduler",
     "base_model", "base_model_hash", "loras", "full_prompt", "full_negative_prompt"}
)  # fmt: skip


def is_fooocus(data: dict[str, Any], scheme_chunk: str | None = None) -> bool:
    """Whether a JSON object is Fooocus' parameters."""
    if (scheme_chunk or "").strip() == "fooocus" or data.get("metadata_scheme") == "fooocus":
        return True
    return "base_model" in data and "guidance_scale" in data


def _loras(data: dict[str, Any]) -> list[Lora]:
    out = []
    for item in data.get("loras") or ():
        if isinstance(item, list | tuple) and item and isinstance(item[0], str):
            out.append(Lora(item[0], to_float(item[1]) if len(item) > 1 else None))
    for key, value in data.items():
        if key.startswith("lora_combined_") and isinstance(value, str):
            name, _, weight = value.rpartition(" : ")
            out.append(Lora(name or weight, to_float(weight) if name else None))
    return out


def fooocus_fields(data: dict[str, Any]) -> Fields:
    """Recipe fields from Fooocus' JSON parameters."""
    extra = extra_of(data, _MAPPED | {k for k in data if k.startswith("lora_combined_")})
    return {
        "prompt": data.get("prompt"),
        "negative": data.get("negative_prompt"),
        "seed": data.get("seed"),
        "steps": data.get("steps"),
        "cfg": data.get("guidance_scale"),
        "sampler": data.get("sampler"),
        "scheduler": data.get("scheduler"),
        "model": data.get("base_model"),
        "model_hash": data.get("base_model_hash"),
        "loras": _loras(data),
        "extra": extra,
    }
