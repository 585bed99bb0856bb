"""Backend options as plain data for both faces: specs for forms and `backends NAME`, and the
merge of an instance's options with per-run overrides (`-o KEY=VALUE`, the editor's fields).

This is the one place that reads pydantic field internals; nothing pydantic leaves it.
"""

from __future__ import annotations

import enum
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import RequestError

if typing.TYPE_CHECKING:
    from pydantic.fields import FieldInfo

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
    return tuple(
        _spec(name, field, docs.get(name, "")) for name, field in cls.Options.model_fields.items()
    )


def merge(cls: type[Backend], base: BackendOptions, overrides: Mapping[str, Any]) -> BackendOptions:
    """`base` with `overrides` applied and validated by the type's Options model.

    Raises RequestError whose fields are "options.<key>" with the reason and, for an unknown key,
    the keys the type accepts.
    """
    if not overrides:
        return base
    from pydantic import ValidationError

    merged = {**base.model_dump(exclude_unset=True), **overrides}
    try:
        return cls.Options.model_validate(merged)
    except ValidationError as exc:
        raise RequestError([_problem(cls, err) for err in exc.errors()]) from None


def _problem(cls: type[Backend], err: Mapping[str, Any]) -> tuple[str, str]:
    key = ".".join(str(part) for part in err.get("loc", ())) or "options"
    if err.get("type") == "extra_forbidden":
        known = ", ".join(cls.Options.model_fields)
        return f"options.{key}", f"{cls.type_name} has no option {key!r}; it accepts: {known}"
    return f"options.{key}", str(err.get("msg", "invalid value"))


def _spec(name: str, field: FieldInfo, doc: str) -> OptionSpec:
    from pydantic_core import PydanticUndefined

    required = field.default is PydanticUndefined and field.default_factory is None
    default = None if required else field.get_default(call_default_factory=True)
    if isinstance(default, enum.Enum):
        default = default.value
    return OptionSpec(name, default, required, _kind(field), _allowed(field), doc)


def _choices(field: FieldInfo) -> list[Any]:
    args = [a for a in typing.get_args(field.annotation) if a is not type(None)]
    return args or [field.annotation]


def _allowed(field: FieldInfo) -> tuple[str, ...]:
    values: list[str] = []
    for arg in _choices(field):
        if isinstance(arg, type) and issubclass(arg, enum.Enum):
            values += [str(m.value) for m in arg]
        elif typing.get_origin(arg) is typing.Literal:
            values += [str(v) for v in typing.get_args(arg)]
    return tuple(values)


def _kind(field: FieldInfo) -> str:
    parts = []
    for arg in _choices(field):
        if (isinstance(arg, type) and issubclass(arg, enum.Enum)) or (
            typing.get_origin(arg) is typing.Literal
        ):
            parts.append("choice")
        else:
            parts.append(getattr(arg, "__name__", str(arg)))
    bounds = [f"{k} {getattr(m, k)}" for m in field.metadata for k in ("ge", "gt", "le", "lt")
              if getattr(m, k, None) is not None]  # fmt: skip
    return " | ".join(parts) + (f" ({', '.join(bounds)})" if bounds else "")
