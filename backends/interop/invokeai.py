"""InvokeAI metadata: the `invokeai_metadata` PNG chunk (3.x and later), or `sd-metadata`
(2.x).

Shapes (InvokeAI `invokeai/app/invocations/metadata.py` CoreMetadata, and the 2.x
`ldm/invoke/pngwriter.py`, https://github.com/invoke-ai/InvokeAI, read 2026-11-29):
invokeai_metadata = {positive_prompt, negative_prompt, seed, steps, cfg_scale, scheduler,
model: {name | model_name, hash}, loras: [{lora | model: {name | model_name}, weight}], ...}.
sd-metadata = {model_weights, model_hash, image: {prompt: str | [{prompt, weight}], seed, steps,
cfg_scale, sampler}}, where negative terms are written in [square brackets] in the prompt.
"""

from __future__ import annotations

import re
from typing import Any

from .recipe import Fields, Lora, extra_of, to_float

_MAPPED = frozenset(
    {"positive_prompt", "negative_prompt", "seed", "steps", "cfg_scale", "scheduler", "model",
     "loras"}
)  # fmt: skip
_BRACKETS = re.compile(r"\[([^\[\]]*)\]")


def _name(model: Any) -> str | None:
    if isinstance(model, str):
        return model
    if isinstance(model, dict):
        name = model.get("name", model.get("model_name"))
        return name if isinstance(name, str) else None
    return None


def _loras(items: Any) -> list[Lora]:
    out = []
    for item in items if isinstance(items, list) else ():
        if isinstance(item, dict) and (name := _name(item.get("lora", item.get("model")))):
            out.append(Lora(name, to_float(item.get("weight"))))
    return out


def invokeai_fields(data: dict[str, Any]) -> Fields:
    """Recipe fields from an `invokeai_metadata` JSON object."""
    model = data.get("model")
    return {
        "prompt": data.get("positive_prompt"),
        "negative": data.get("negative_prompt"),
        "seed": data.get("seed"),
        "steps": data.get("steps"),
        "cfg": data.get("cfg_scale"),
        "scheduler": data.get("scheduler"),
        "model": _name(model),
        "model_hash": model.get("hash") if isinstance(model, dict) else None,
        "loras": _loras(data.get("loras")),
        "extra": extra_of(data, _MAPPED),
    }


def _v2_prompt(prompt: Any) -> tuple[str, str]:
    if isinstance(prompt, list):
        prompt = " ".join(p.get("prompt", "") for p in prompt if isinstance(p, dict))
    text = prompt if isinstance(prompt, str) else ""
    negative = ", ".join(m.strip() for m in _BRACKETS.findall(text))
    return " ".join(_BRACKETS.sub(" ", text).split()), negative


def sd_metadata_fields(data: dict[str, Any]) -> Fields | None:
    """Recipe fields from InvokeAI 2.x `sd-metadata`, or None if it lacks the image object."""
    image = data.get("image")
    if not isinstance(image, dict):
        return None
    prompt, negative = _v2_prompt(image.get("prompt"))
    return {
        "prompt": prompt,
        "negative": negative,
        "seed": image.get("seed"),
        "steps": image.get("steps"),
        "cfg": image.get("cfg_scale"),
        "sampler": image.get("sampler"),
        "model": data.get("model_weights"),
        "model_hash": data.get("model_hash"),
        "extra": extra_of(image, frozenset({"prompt", "seed", "steps", "cfg_scale", "sampler"})),
    }
