"""Turning a `BackendOptions` subclass into a keyword-only dataclass that validates like the
built-in ones, whether or not its author adds a decorator of their own.

A plugin writes `class Options(BackendOptions): steps: int = field(default=20, ...)`. Before
`dataclasses.dataclass` runs, `prepare` refuses what would silently misbehave (a pydantic
`Field` as a default, an option called `type`) and lets a redeclared inherited field keep the
parent's bounds (`max_concurrent: int = 1` must still refuse 0). After it, `finish` checks each
default against its own bounds and puts the `field(...)` objects back as class attributes, so a
second `@dataclass` applied by the author sees the same fields (dataclass replaces them with
their defaults, or deletes them, which would lose bounds and factories).
Source: https://docs.python.org/3.11/library/dataclasses.html (inheritance, field(); 2026-11-30).
"""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Callable, Mapping
from typing import Any

from .schema import BOUND_NAMES

RESERVED = frozenset({"type"})
"""Option names a `[backends.<name>]` table already uses for something else."""

_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "ge": operator.ge,
    "gt": operator.gt,
    "le": operator.le,
    "lt": operator.lt,
}


def prepare(cls: type) -> dict[str, dataclasses.Field[Any]]:
    """Check and adjust `cls`'s own annotated attributes before `dataclass(cls)`.

    Returns the `field(...)` objects it declares, for `finish`. Raises TypeError naming
    `Class.field` for a reserved name or a pydantic `Field` default.
    """
    own = list(cls.__dict__.get("__annotations__", {}))
    inherited = _inherited_fields(cls)
    for name in own:
        value = cls.__dict__.get(name, dataclasses.MISSING)
        if name in RESERVED:
            raise TypeError(
                f"{cls.__name__}.{name}: {name!r} names the backend type in a "
                "[backends.<name>] table; call the option something else"
            )
        if type(value).__module__.startswith("pydantic"):
            raise TypeError(
                f"{cls.__name__}.{name}: pydantic.Field is not supported in backend options; "
                "use dataclasses.field(default=..., metadata=bounds(ge=...))"
            )
        parent = inherited.get(name)
        if parent is not None and (value is dataclasses.MISSING or _bounds(parent.metadata)):
            _keep_parent_bounds(cls, name, value, parent)
    return {
        name: value
        for name in own
        if isinstance(value := cls.__dict__.get(name), dataclasses.Field)
    }


def finish(cls: type, declared: Mapping[str, dataclasses.Field[Any]]) -> None:
    """Check defaults against bounds and restore the declared `field(...)` class attributes.

    Raises TypeError naming `Class.field` when a default lies outside its own bounds.
    """
    for f in dataclasses.fields(cls):
        problem = default_problem(f)
        if problem:
            raise TypeError(f"{cls.__name__}.{f.name}: {problem}")
    for name, f in declared.items():
        setattr(cls, name, f)


def _inherited_fields(cls: type) -> dict[str, dataclasses.Field[Any]]:
    found: dict[str, dataclasses.Field[Any]] = {}
    for base in reversed(cls.__mro__[1:]):
        found.update(getattr(base, "__dataclass_fields__", {}))
    return found


def _bounds(metadata: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in metadata.items() if k in BOUND_NAMES}


def _keep_parent_bounds(cls: type, name: str, value: Any, parent: dataclasses.Field[Any]) -> None:
    """A redeclared field without bounds of its own takes the parent's (and, redeclared
    without a default, the parent's default)."""
    if isinstance(value, dataclasses.Field):
        if not _bounds(value.metadata):
            merged = {**parent.metadata, **value.metadata}
            value.metadata = dataclasses.field(metadata=merged).metadata
        return
    if value is dataclasses.MISSING:  # annotation only: the parent's default, in a field of
        # its own (dataclass would reuse, and retype, the parent's field object finish() kept)
        replacement = dataclasses.field(
            default=parent.default,
            default_factory=parent.default_factory,
            metadata=parent.metadata,
        )
    else:
        replacement = dataclasses.field(default=value, metadata=parent.metadata)
    setattr(cls, name, replacement)


def default_problem(f: dataclasses.Field[Any]) -> str | None:
    """Why the field's plain default breaks its bounds, else None (factories are not called)."""
    default = f.default
    if default is dataclasses.MISSING or default is None:
        return None
    for key, limit in _bounds(f.metadata).items():
        if key in _COMPARE:
            ok = isinstance(default, int | float) and _COMPARE[key](default, limit)
        else:
            sized = hasattr(default, "__len__")
            ok = sized and (len(default) >= limit if key == "min_length" else len(default) <= limit)
        if not ok:
            return f"default {default!r} is outside its bounds ({key} {limit})"
    return None
