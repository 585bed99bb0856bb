"""JSON as other tools write it: bare `NaN`/`Infinity` (Python's json module emits them),
huge integers (seeds past 2**64) kept exact, and values made safe to store again."""

from __future__ import annotations

import json
import math
from typing import Any


def _no_constant(_name: str) -> None:
    return None


def _finite_float(text: str) -> float | None:
    value = float(text)
    return value if math.isfinite(value) else None


def loads(text: str | None) -> Any:
    """The JSON value of `text`, or None if it is not JSON.

    `NaN`, `Infinity`, `-Infinity` and overflowing floats (`1e999`) become None; integers stay
    Python ints of any size. Never raises.
    """
    if not text:
        return None
    try:
        return json.loads(text, parse_constant=_no_constant, parse_float=_finite_float)
    except (ValueError, RecursionError):
        return None


def loads_object(text: str | None) -> dict[str, Any] | None:
    """`loads(text)` if that is a JSON object, else None."""
    value = loads(text)
    return value if isinstance(value, dict) else None


def sanitize(value: Any, depth: int = 0) -> Any:
    """`value` with non-finite floats as None, keys as str, tuples as lists, other objects as str:
    the result always passes `json.dumps(..., allow_nan=False)`. Nesting past 64 levels is cut."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if depth >= 64:
        return None
    if isinstance(value, dict):
        return {str(k): sanitize(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [sanitize(v, depth + 1) for v in value]
    return str(value)
