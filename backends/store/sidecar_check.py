"""Reading a JSON sidecar that may be broken, and saying why in one line.

A sidecar is hand-editable and other tools write `.json` files too, so any of these happens:
missing, unreadable (permissions), not UTF-8, not JSON, JSON nested deeper than the parser's
recursion limit, JSON that is not an object, or an object whose known fields have the wrong
types. The image is always shown; the sidecar's problem is shown next to it ("sidecar
unreadable: <reason>") and the fields that are usable are kept.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

MAX_SIDECAR_BYTES = 16 * 1024 * 1024
"""Bigger than any sidecar we write by far; a larger `.json` is not read into memory."""


def _text(value: Any) -> bool:
    return isinstance(value, str)


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _number(value: Any) -> bool:
    return _whole(value) or (isinstance(value, float) and math.isfinite(value))


def _date(value: Any) -> bool:
    return _text(value) or _number(value)


def _texts(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


SHAPES: dict[str, tuple[Callable[[Any], bool], str]] = {
    **{k: (_text, "text") for k in ("prompt", "negative", "backend", "backend_type", "model")},
    **{k: (_text, "text") for k in ("mime_type", "style", "revised_prompt", "job_id")},
    **{k: (_whole, "a whole number") for k in ("version", "seed", "steps", "width", "height")},
    **{k: (_number, "a number") for k in ("latency_s", "cost_usd")},
    "created_at": (_date, "a date"),
    "favourite": (lambda v: isinstance(v, bool), "true or false"),
    "tags": (_texts, "a list of text"),
    "request": (lambda v: isinstance(v, dict), "an object"),
    "provider": (lambda v: isinstance(v, dict), "an object"),
}
"""Each known key: a test of its value (null always passes) and what it should be."""


def load(path: Path) -> tuple[dict[str, Any] | None, str | None]:
    """(the sidecar's fields, None) when it is usable; (None, reason) when it is not; (None,
    None) when there is no file. Fields of a wrong type are dropped and named in the reason:
    ({...usable fields}, "prompt should be text"). Never raises."""
    data, problem = parse(path)
    if data is None:
        return None, problem
    wrong = [key for key, value in data.items() if not _fits(key, value)]
    if not wrong:
        return data, None
    kept = {k: v for k, v in data.items() if k not in wrong}
    details = ", ".join(f"{k} should be {SHAPES[k][1]}" for k in wrong[:4])
    more = f" (+{len(wrong) - 4} more)" if len(wrong) > 4 else ""
    return kept, f"{details}{more}; those fields are ignored"


def _fits(key: str, value: Any) -> bool:
    shape = SHAPES.get(key)
    return shape is None or value is None or shape[0](value)


def parse(path: Path) -> tuple[dict[str, Any] | None, str | None]:
    """(the JSON object as written, None), (None, why it cannot be read) or (None, None) when
    there is no file; its fields are not checked (see `load`). Never raises."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_SIDECAR_BYTES + 1)
    except FileNotFoundError:
        return None, None
    except OSError as exc:
        return None, f"cannot read it ({exc.strerror or exc})"
    if len(raw) > MAX_SIDECAR_BYTES:
        return None, f"larger than {MAX_SIDECAR_BYTES // 2**20} MiB"
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start})"
    try:
        data = json.loads(text)
    except RecursionError:
        return None, "JSON nested too deeply"
    except ValueError as exc:
        return None, f"not valid JSON ({exc})"
    if not isinstance(data, dict):
        return None, f"not a JSON object (a {_json_kind(data)})"
    return data, None


def _json_kind(value: Any) -> str:
    kinds = {list: "list", str: "string", bool: "boolean", int: "number", float: "number"}
    return "null" if value is None else kinds.get(type(value), type(value).__name__)
