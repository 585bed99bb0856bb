"""Config sections and backend options as plain dataclasses, validated by pydantic on demand.

Every config section and every backend type's `Options` is a stdlib `@dataclass(kw_only=True)`.
A run with nothing to validate (no config file, no `IMAGEN_*` variable, no `-o`) builds them
directly and never imports pydantic (~150 ms of `--once` and `history` start-up). Whatever
comes from outside goes through `validate()`, which hands the dataclass to a pydantic
`TypeAdapter`: pydantic reads field bounds from `dataclasses.field(metadata=bounds(...))`,
refuses unknown keys (`__pydantic_config__ = FORBID_EXTRA`) and runs `__post_init__`, where a
section checks what a bound cannot (a ValueError there becomes a validation error).
Source: https://docs.pydantic.dev/2.11/concepts/dataclasses/ (stdlib dataclasses, 2026-11-30).
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from pydantic import TypeAdapter

T = TypeVar("T")
R = TypeVar("R")

FORBID_EXTRA: dict[str, Any] = {"extra": "forbid", "allow_inf_nan": False}
"""A section's `__pydantic_config__`: unknown keys are errors, and so are inf and nan (TOML
has both; an infinite timeout_s or budget breaks the arithmetic that uses it)."""

INTERNAL = "internal"
"""Metadata key of a field the program sets and a file may not (Config.source)."""

UNKNOWN_KEY_ERRORS = frozenset({"extra_forbidden", "unexpected_keyword_argument"})
"""pydantic's error types for a key the section does not have."""

BOUND_NAMES = ("ge", "gt", "le", "lt", "min_length", "max_length")


def bounds(**limits: float) -> Mapping[str, float]:
    """Field metadata with bounds pydantic checks: `field(default=2, metadata=bounds(ge=1))`."""
    unknown = set(limits) - set(BOUND_NAMES)
    if unknown:
        raise TypeError(f"unknown bound {sorted(unknown)[0]!r}; use one of {BOUND_NAMES}")
    return MappingProxyType(limits)


def internal() -> Any:
    """A field the program fills in (None by default), never read from a file or variable."""
    return dataclasses.field(default=None, metadata={INTERNAL: True})


def per_class(fn: Callable[[type], R]) -> Callable[[type], R]:
    """`functools.cache` for a function of one class. Typed as a plain callable because mypy
    wrongly finds some class objects unhashable for `cache`'s `Hashable` arguments
    (https://github.com/python/mypy/issues/11470, open as of 2026-11-30)."""
    return cache(fn)


@per_class
def fields_of(cls: type) -> dict[str, dataclasses.Field[Any]]:
    """The dataclass fields of `cls` by name, in declaration order."""
    return {f.name: f for f in dataclasses.fields(cls)}


@per_class
def hints(cls: type) -> dict[str, Any]:
    """The resolved annotation of each field of `cls` (its module's `from __future__ import
    annotations` leaves them as strings)."""
    return typing.get_type_hints(cls)


def public_fields(cls: type) -> list[str]:
    """Names of the fields a file may set, in order."""
    return [n for n, f in fields_of(cls).items() if not f.metadata.get(INTERNAL)]


def is_required(f: dataclasses.Field[Any]) -> bool:
    return f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING


def default_of(f: dataclasses.Field[Any]) -> Any:
    """The field's default value (a fresh one from its factory); None when it is required."""
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return None


def section_type(annotation: Any) -> type | None:
    """The dataclass an annotation holds directly or as `dict[str, X]` values; else None."""
    if typing.get_origin(annotation) is dict:
        annotation = typing.get_args(annotation)[1]
    if isinstance(annotation, type) and dataclasses.is_dataclass(annotation):
        return annotation
    return None


_FIELDS_SET = "_fields_set"


def set_values(obj: Any) -> dict[str, Any]:
    """The fields a validated dataclass instance was given (else those that differ from their
    default), as JSON data: what a config table set."""
    given = getattr(obj, _FIELDS_SET, None)
    values = {}
    for name, f in fields_of(type(obj)).items():
        value = getattr(obj, name)
        if given is not None:
            if name in given:
                values[name] = to_data(value)
            continue
        if f.metadata.get(INTERNAL) or (not is_required(f) and value == default_of(f)):
            continue
        values[name] = to_data(value)
    return values


def to_data(value: Any, *, exclude_none: bool = False) -> Any:
    """JSON/TOML-ready data: dataclasses as dicts (internal fields left out), paths as strings,
    enums as their values, tuples as lists; `exclude_none` drops unset (None) fields."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = {}
        for name, f in fields_of(type(value)).items():
            item = getattr(value, name)
            if f.metadata.get(INTERNAL) or (exclude_none and item is None):
                continue
            out[name] = to_data(item, exclude_none=exclude_none)
        return out
    if isinstance(value, Mapping):
        return {str(k): to_data(v, exclude_none=exclude_none) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_data(v, exclude_none=exclude_none) for v in value]
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    return value


def plugin_failure(type_name: str, exc: BaseException) -> str:
    """The one line for an Options class that raised something other than a validation error
    (a TypeError in a plugin's `__post_init__`): a bug to report, not a traceback."""
    detail = " ".join(str(exc).split())[:200]
    return (
        f"backend type {type_name!r} failed to check its options ({type(exc).__name__}: "
        f"{detail}); report it to the type's author"
    )


def field_error(name: str, message: str) -> ValueError:
    """The error a `__post_init__` raises for one field; `error_location` files it under it."""
    return ValueError(f"{name}: {message}")


def error_location(err: Mapping[str, Any]) -> tuple[tuple[str, ...], str]:
    """A pydantic error's key path and message; a `field_error` goes under its field."""
    loc = tuple(str(part) for part in err.get("loc", ()))
    if err.get("input") is BOOL_FOR_NUMBER:
        return loc, _BOOL_MESSAGE
    message = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
    if err.get("type") == "value_error":
        head, sep, rest = message.partition(": ")
        if sep and head.isidentifier():
            return (*loc, head), rest
    return loc, message


class _BoolForNumber:
    """Stands in for a true/false given where a number goes: pydantic would read it as 1/0."""

    def __repr__(self) -> str:
        return "true/false"


BOOL_FOR_NUMBER = _BoolForNumber()
_BOOL_MESSAGE = "must be a number, not true or false"


def _numeric(annotation: Any) -> bool:
    """Whether a field holds an int or float (optionally None) and nothing else."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    choices = (
        args if typing.get_origin(annotation) in (typing.Union, types.UnionType) else [annotation]
    )
    return all(c in (int, float) for c in choices)


def without_bools(cls: type, data: Any) -> Any:
    """`data` with each true/false that stands where `cls` (or a section in it) takes a number
    replaced by BOOL_FOR_NUMBER, which validation refuses: TOML's `max_concurrent = true`
    must not quietly become 1. Returns `data` itself when there is none."""
    if not isinstance(data, Mapping) or not dataclasses.is_dataclass(cls):
        return data
    annotations = hints(cls)
    out = dict(data)
    for key, value in data.items():
        annotation: object = annotations.get(key)
        if isinstance(value, bool) and _numeric(annotation):
            out[key] = BOOL_FOR_NUMBER
        elif isinstance(value, Mapping) and (section := section_type(annotation)) is not None:
            if section is annotation:
                out[key] = without_bools(section, value)
            else:
                out[key] = {k: without_bools(section, v) for k, v in value.items()}
    return out if out != data else data


def validate(cls: type[T], data: Any) -> T:
    """`data` (a dict from TOML, the environment or flags) checked and converted into `cls`.

    Raises pydantic's `ValidationError`, whose `errors()` give each problem's key path (a bool
    where a number goes is one of them).
    """
    result: T = _adapter(cls).validate_python(without_bools(cls, data))  # the adapter of `cls`
    if isinstance(data, Mapping) and dataclasses.is_dataclass(result):
        setattr(result, _FIELDS_SET, frozenset(data) & fields_of(cls).keys())
    return result


@per_class
def _adapter(cls: type) -> TypeAdapter[Any]:
    from pydantic import TypeAdapter  # only when there is something to validate

    return TypeAdapter(cls)
