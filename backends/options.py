"""Backend options as plain data for both faces: specs for forms and `backends NAME`, and the
merge of an instance's options with per-run overrides (`-o KEY=VALUE`, the editor's fields).

Options are dataclasses (see `schema`); pydantic is imported only to check overrides.
"""

from __future__ import annotations

import enum
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import ConfigError, RequestError
from .schema import (
    BOUND_NAMES,
    UNKNOWN_KEY_ERRORS,
    default_of,
    error_location,
    fields_of,
    hints,
    is_required,
    plugin_failure,
    to_data,
)

if typing.TYPE_CHECKING:
    from dataclasses import Field

    from .base import Backend, BackendOptions


@dataclass(frozen=True, slots=True)
class OptionSpec:
    """One option of a backend type. `default` is None when unset; `required` when it has none.

    `kind` reads like "float (ge 0, le 600)"; `allowed` lists the values of an enum or Literal.
    """

    name: str
    default: Any
    required: bool
    kind: str
    allowed: tuple[str, ...]
    doc: str


@dataclass(frozen=True, slots=True)
class BackendInfo:
    """A configured backend instance as the faces show it.

    `sizes` are "WxH" presets (() = any size within the limits); `readiness` is None when the
    instance can run, else one line saying what is missing; `configured` are the option values
    set in the config.
    """

    name: str
    type: str
    description: str
    capabilities: frozenset[str]
    sizes: tuple[str, ...]
    options: tuple[OptionSpec, ...]
    readiness: str | None
    configured: Mapping[str, Any]
    default: bool


def option_specs(cls: type[Backend]) -> tuple[OptionSpec, ...]:
    """Every option of a backend type, in declaration order, with its docstring."""
    from .config_sample import field_docs  # reads class source: only when specs are shown

    docs = field_docs(cls.Options)
    types = hints(cls.Options)
    return tuple(
        _spec(name, field, types[name], docs.get(name, ""))
        for name, field in fields_of(cls.Options).items()
    )


def merge(cls: type[Backend], base: BackendOptions, overrides: Mapping[str, Any]) -> BackendOptions:
    """`base` with `overrides` applied and checked by the type's `parse_options`, exactly as
    its `[backends.<name>]` table is (a plugin's own checks there included).

    Raises RequestError whose fields are "options.<key>" with the reason and, for an unknown key,
    the keys the type accepts ("options" for a problem that names no key).
    """
    if not overrides:
        return base
    from pydantic import ValidationError

    merged = {**to_data(base), **overrides}
    try:
        return cls.parse_options(merged)
    except ValidationError as exc:
        raise RequestError([_problem(cls, err) for err in exc.errors()]) from None
    except ConfigError as exc:  # a plugin's parse_options checking more
        raise RequestError([("options", problem) for problem in exc.problems]) from None
    except Exception as exc:  # a plugin's __post_init__ raising what validation cannot file
        raise RequestError([("options", plugin_failure(cls.type_name, exc))]) from None


def _problem(cls: type[Backend], err: Mapping[str, Any]) -> tuple[str, str]:
    loc, message = error_location(err)
    key = ".".join(loc)
    if not key:  # a check across options (`__post_init__` naming no field)
        return "options", message
    if err.get("type") in UNKNOWN_KEY_ERRORS:
        known = ", ".join(fields_of(cls.Options))
        return f"options.{key}", f"{cls.type_name} has no option {key!r}; it accepts: {known}"
    return f"options.{key}", message


def _spec(name: str, field: Field[Any], annotation: Any, doc: str) -> OptionSpec:
    required = is_required(field)
    default = None if required else default_of(field)
    if isinstance(default, enum.Enum):
        default = default.value
    kind = _kind(annotation, field.metadata)
    return OptionSpec(name, default, required, kind, _allowed(annotation), doc)


def _choices(annotation: Any) -> list[Any]:
    """The alternatives of a union (None left out); else the annotation itself."""
    if typing.get_origin(annotation) not in (typing.Union, types.UnionType):
        return [annotation]
    return [a for a in typing.get_args(annotation) if a is not type(None)]


def _allowed(annotation: Any) -> tuple[str, ...]:
    values: list[str] = []
    for arg in _choices(annotation):
        if isinstance(arg, type) and issubclass(arg, enum.Enum):
            values += [str(m.value) for m in arg]
        elif typing.get_origin(arg) is typing.Literal:
            values += [str(v) for v in typing.get_args(arg)]
    return tuple(values)


def _kind(annotation: Any, metadata: Mapping[str, Any]) -> str:
    parts = []
    for arg in _choices(annotation):
        if (isinstance(arg, type) and issubclass(arg, enum.Enum)) or (
            typing.get_origin(arg) is typing.Literal
        ):
            parts.append("choice")
        else:
            parts.append(_type_name(arg))
    bounds = [f"{k} {metadata[k]}" for k in BOUND_NAMES if metadata.get(k) is not None]
    return " | ".join(parts) + (f" ({', '.join(bounds)})" if bounds else "")


def _type_name(annotation: Any) -> str:
    """`int`, `Path`; a list or tuple as `list of str` (what a TOML array holds)."""
    origin = typing.get_origin(annotation)
    if origin in (list, tuple, set, frozenset):
        items = [a for a in typing.get_args(annotation) if a is not Ellipsis]
        inner = " | ".join(_type_name(a) for a in items) or "any"
        return f"list of {inner}"
    return getattr(annotation, "__name__", str(annotation))
