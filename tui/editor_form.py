"""The prompt editor's fields as plain values: parsing and inline validation (no Textual).

`read_form(values)` turns the raw strings of the form into `GenerationRequest` keyword arguments
plus one `FieldProblem` per field that is wrong, so the widget can explain each next to its field.
Limits follow `GenerationRequest` (sides 64-4096 px, seed 0..2**32-1, steps 1-500, count 1-64).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MIN_SIDE, MAX_SIDE = 64, 4096
MAX_SEED = 2**32 - 1
CUSTOM = "custom"
COMMON_SIZES = ("1024x1024", "1024x1536", "1536x1024", "768x768", "512x512")
_SIZE = re.compile(r"^\s*(\d+)\s*[xX×]\s*(\d+)\s*$")


@dataclass(frozen=True)
class FieldProblem:
    """Something wrong with one field (`field` is the form field's name)."""

    field: str
    message: str


@dataclass
class FormValues:
    """The raw state of the editor's widgets."""

    prompt: str = ""
    negative: str = ""
    backend: str = ""
    size: str = "1024x1024"
    custom_size: str = ""
    seed: str = ""
    steps: str = ""
    style: str = ""
    count: str = "1"
    references: str = ""
    disabled: set[str] = field(default_factory=set)


def parse_size(text: str) -> tuple[int, int]:
    """`"1024x768"` → (1024, 768); ValueError with a one-line reason otherwise."""
    match = _SIZE.match(text)
    if not match:
        raise ValueError("write it as WIDTHxHEIGHT, e.g. 1024x768")
    width, height = int(match[1]), int(match[2])
    for side in (width, height):
        if not MIN_SIDE <= side <= MAX_SIDE:
            raise ValueError(f"each side must be {MIN_SIDE}-{MAX_SIDE} px")
    return width, height


def parse_int(text: str, low: int, high: int) -> int | None:
    """Blank → None; else an int in [low, high]; ValueError otherwise."""
    text = text.strip()
    if not text:
        return None
    if not text.isdigit():
        raise ValueError("must be a whole number")
    value = int(text)
    if not low <= value <= high:
        raise ValueError(f"must be {low}-{high}")
    return value


def parse_references(text: str) -> tuple[Path, ...]:
    """Shell-style list of paths (quote names with spaces); each must be a readable file."""
    try:
        items = shlex.split(text)
    except ValueError as exc:
        raise ValueError(f"cannot split the paths: {exc}") from None
    paths = tuple(Path(item).expanduser() for item in items)
    for path in paths:
        if not path.is_file():
            raise ValueError(f"no such file: {path}")
    return paths


def _size(values: FormValues) -> tuple[int, int]:
    return parse_size(values.custom_size if values.size == CUSTOM else values.size)


def read_form(values: FormValues) -> tuple[dict[str, Any], list[FieldProblem]]:
    """Request keyword arguments from the form, and what is wrong with it."""
    problems: list[FieldProblem] = []
    kwargs: dict[str, Any] = {"backend": values.backend, "count": 1}
    if not values.prompt.strip():
        problems.append(FieldProblem("prompt", "type a prompt"))
    kwargs["prompt"] = values.prompt.strip()
    if "negative" not in values.disabled:
        kwargs["negative"] = values.negative.strip()
    if values.style:
        kwargs["style"] = values.style
    parsers = {
        "size": lambda: _size(values),
        "seed": lambda: parse_int(values.seed, 0, MAX_SEED),
        "steps": lambda: parse_int(values.steps, 1, 500),
        "count": lambda: parse_int(values.count, 1, 64) or 1,
        "references": lambda: parse_references(values.references),
    }
    for name, parse in parsers.items():
        if name in values.disabled:
            continue
        try:
            value = parse()
        except ValueError as exc:
            problems.append(FieldProblem(name, str(exc)))
            continue
        if name == "size":
            kwargs["width"], kwargs["height"] = value
        elif value is not None and value != ():
            kwargs[name] = value
    return kwargs, problems
