"""NovelAI metadata: PNG text chunks `Software` ("NovelAI"), `Description` (the prompt),
`Source` (model name and hash) and `Comment` (a JSON object of settings).

Comment keys (as NovelAI writes them; also read by stable-diffusion-webui's
`modules/images.py` `read_info_from_image`, https://github.com/AUTOMATIC1111/
stable-diffusion-webui, read 2026-11-29): prompt, uc (negative), seed, steps, scale (CFG),
sampler, noise_schedule, and for V4 models `v4_prompt` / `v4_negative_prompt` =
{"caption": {"base_caption", "char_captions": [{"char_caption"}]}}. Where `Description` and
`Comment.prompt` differ, the Comment (the full prompt) wins.
"""

from __future__ import annotations

import re
from typing import Any

from .recipe import Fields, extra_of

_MAPPED = frozenset(
    {"prompt", "uc", "seed", "steps", "scale", "sampler", "noise_schedule", "v4_prompt",
     "v4_negative_prompt"}
)  # fmt: skip
_SOURCE = re.compile(r"(.*?)\s+([0-9A-Fa-f]{8,})")


def is_novelai(texts: dict[str, str]) -> bool:
    """Whether these PNG text chunks are NovelAI's."""
    return texts.get("Software", "").startswith("NovelAI")


def _caption(value: Any) -> str | None:
    caption = value.get("caption") if isinstance(value, dict) else None
    if not isinstance(caption, dict) or not isinstance(caption.get("base_caption"), str):
        return None
    parts = [caption["base_caption"]]
    for char in caption.get("char_captions") or ():
        if isinstance(char, dict) and isinstance(char.get("char_caption"), str):
            parts.append(char["char_caption"])
    return "\n".join(p for p in parts if p)


def novelai_fields(texts: dict[str, str], comment: dict[str, Any] | None) -> Fields:
    """Recipe fields from NovelAI's text chunks and its parsed `Comment` object (or None)."""
    data = comment or {}
    prompt = _caption(data.get("v4_prompt")) or data.get("prompt") or texts.get("Description")
    negative = _caption(data.get("v4_negative_prompt")) or data.get("uc")
    source = texts.get("Source", "")
    match = _SOURCE.fullmatch(source.strip())
    extra = extra_of(data, _MAPPED)
    if texts.get("Generation time"):
        extra["Generation time"] = texts["Generation time"]
    return {
        "prompt": prompt,
        "negative": negative,
        "seed": data.get("seed"),
        "steps": data.get("steps"),
        "cfg": data.get("scale"),
        "sampler": data.get("sampler"),
        "scheduler": data.get("noise_schedule"),
        "model": match.group(1) if match else source or None,
        "model_hash": match.group(2) if match else None,
        "extra": extra,
    }
