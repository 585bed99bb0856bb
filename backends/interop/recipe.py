"""`Recipe`: what an image says about how it was made, whatever tool made it.

Readers return plain `Fields` (a dict of the names below, loosely typed as found in the file);
`build_recipe` turns them into a `Recipe` with exact types, terminal-safe bounded text, and
the width and height of the image header (never what the metadata claims).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from .text import MAX_PROMPT_CHARS, MAX_RAW_CHARS, clean, clip, safe

SOURCES = ("a1111", "comfyui", "fooocus", "swarmui", "invokeai", "novelai", "imagen-tui", "none")
Fields = dict[str, Any]
_INT_RE = re.compile(r"\s*[-+]?\d{1,40}\s*")


@dataclass(frozen=True, slots=True)
class Lora:
    """A LoRA (or LyCORIS) the image was made with: file/model `name`, `weight` if known."""

    name: str
    weight: float | None = None


@dataclass(frozen=True, slots=True)
class Recipe:
    """How an image was made, as far as its file tells.

    `source`: which tool's format was read (one of SOURCES; "none" when nothing was understood).
    `prompt`/`negative`: text as the tool stored it (LoRA tags and weights stay in it), without
    terminal control characters, at most MAX_PROMPT_CHARS (then cut with a visible mark).
    `seed`: exact int of any size. `steps`: int. `cfg`: float (CFG scale, or guidance).
    `width`/`height`: pixels from the image header, 0 only if the header is unreadable.
    `extra`: every other setting, as text ("Template", "Version", "Denoising strength", …).
    `raw`: the original text chunks / EXIF text {name: text}, each cut at MAX_RAW_CHARS; only
    JSON-safe strings, but NOT terminal-safe: clean before showing. `problem`: one line saying
    what could not be read, or None.
    """

    source: str = "none"
    prompt: str = ""
    negative: str = ""
    seed: int | None = None
    steps: int | None = None
    cfg: float | None = None
    sampler: str | None = None
    scheduler: str | None = None
    model: str | None = None
    model_hash: str | None = None
    width: int = 0
    height: int = 0
    mime: str = "application/octet-stream"
    loras: tuple[Lora, ...] = ()
    extra: dict[str, str] = field(default_factory=dict)
    raw: dict[str, str] = field(default_factory=dict)
    problem: str | None = None


def to_int(value: Any) -> int | None:
    """An exact int from an int, an integral float, or a decimal string; else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _INT_RE.fullmatch(value):
        return int(value)
    return None


def to_float(value: Any) -> float | None:
    """A finite float from a number or a numeric string; else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return None
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    return None


def to_text(value: Any) -> str | None:
    """A short terminal-safe string from a string or number; None for empty or other types."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        value = str(value)
    if not isinstance(value, str):
        return None
    return safe(value).strip() or None


def _loras(value: Any) -> tuple[Lora, ...]:
    out = []
    for item in value or ():
        if isinstance(item, Lora) and (name := to_text(item.name)):
            out.append(Lora(name, to_float(item.weight)))
    return tuple(out[:64])


def _extra(value: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, val in (value or {}).items():
        text = val if isinstance(val, str) else None if val is None else str(val)
        if text is not None and len(out) < 256:
            out[safe(str(key), 256)] = safe(text)
    return out


def _raw(raw: dict[str, str]) -> dict[str, str]:
    return {key: clip(text, MAX_RAW_CHARS)[0] for key, text in raw.items()}


def build_recipe(
    source: str,
    fields: Fields,
    size: tuple[str, int, int],
    raw: dict[str, str],
    problems: list[str],
) -> Recipe:
    """A `Recipe` from a reader's `fields`, the header's (mime, width, height), the original
    text and the problems met so far (joined into `problem`)."""
    prompt, cut_p = clean(str(fields.get("prompt") or ""), MAX_PROMPT_CHARS)
    negative, cut_n = clean(str(fields.get("negative") or ""), MAX_PROMPT_CHARS)
    if cut_p or cut_n:
        problems = [*problems, "prompt longer than the limit: truncated"]
    mime, width, height = size
    return Recipe(
        source=source, prompt=prompt, negative=negative,
        seed=to_int(fields.get("seed")), steps=to_int(fields.get("steps")),
        cfg=to_float(fields.get("cfg")), sampler=to_text(fields.get("sampler")),
        scheduler=to_text(fields.get("scheduler")), model=to_text(fields.get("model")),
        model_hash=to_text(fields.get("model_hash")), width=width, height=height, mime=mime,
        loras=_loras(fields.get("loras")), extra=_extra(fields.get("extra")), raw=_raw(raw),
        problem="; ".join(dict.fromkeys(problems)) or None,
    )  # fmt: skip


def extra_of(data: dict[str, Any], skip: frozenset[str] | set[str]) -> dict[str, str]:
    """The entries of a JSON object not in `skip`, as text (lists/objects as compact JSON)."""
    out: dict[str, str] = {}
    for key, value in data.items():
        if key in skip or value is None or value == "" or value == []:
            continue
        if isinstance(value, str):
            out[key] = value
        else:
            out[key] = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    return out
