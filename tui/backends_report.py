"""Text for `imagen-tui backends`: types, instances, readiness, and each type's options."""

from __future__ import annotations

import enum
import typing
from typing import Any

from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from imagen_tui.backends import registry
from imagen_tui.backends.base import Backend
from imagen_tui.backends.config import Config
from imagen_tui.backends.config_sample import field_docs
from imagen_tui.backends.errors import ConfigError


def overview(config: Config) -> str:
    lines = ["Backend types:"]
    for name, cls in registry.loadable_types().items():
        if isinstance(cls, str):
            lines.append(f"  {name:<18} unavailable: {cls}")
            continue
        caps = ", ".join(sorted(cls.capabilities))
        lines.append(f"  {name:<18} {cls.description}")
        lines.append(f"  {'':<18} can: {caps}")
    lines += ["", "Configured instances:"]
    for name, instance in config.backends.items():
        marker = "*" if name == config.default_backend else " "
        lines.append(f" {marker}{name:<18} type {instance.type:<12} {_readiness(config, name)}")
    lines += ["", "* default.  Options of one type: imagen-tui backends NAME"]
    return "\n".join(lines)


def _readiness(config: Config, name: str) -> str:
    instance = config.backends[name]
    try:
        cls = registry.backend_type(instance.type)
    except ConfigError as exc:
        return f"not ready: {exc}"
    problem = cls(name, instance.options).readiness()
    return f"not ready: {problem}" if problem else "ready"


def describe_options(config: Config, name: str) -> str:
    """Options of a type (or of an instance's type, with its configured values)."""
    configured: dict[str, Any] = {}
    if name in config.backends:
        instance = config.backends[name]
        type_name = instance.type
        configured = instance.options.model_dump(exclude_unset=True)
    elif name in registry.type_names():
        type_name = name
    else:
        known = sorted(set(config.backends) | set(registry.type_names()))
        raise ConfigError(f"no backend type or instance named {name!r}; known: {', '.join(known)}")
    cls: type[Backend] = registry.backend_type(type_name)
    head = f"{name} (type {type_name})" if name != type_name else f"type {type_name}"
    lines = [f"{head}: {cls.description}", "", "Options ([backends.<name>] keys, or -o KEY=VALUE):"]
    docs = field_docs(cls.Options)
    for key, field in cls.Options.model_fields.items():
        lines.append(f"  {key} = {_default(field)}    {_kind(field)}")
        if docs.get(key):
            lines.append(f"      {docs[key]}")
        if key in configured:
            lines.append(f"      configured: {configured[key]!r}")
    return "\n".join(lines)


def _default(field: FieldInfo) -> str:
    if field.default is PydanticUndefined and field.default_factory is None:
        return "(required)"
    value = field.get_default(call_default_factory=True)
    if isinstance(value, enum.Enum):
        value = value.value
    return "(unset)" if value is None else repr(value)


def _kind(field: FieldInfo) -> str:
    ann = field.annotation
    args = [a for a in typing.get_args(ann) if a is not type(None)] or [ann]
    parts = []
    for arg in args:
        if isinstance(arg, type) and issubclass(arg, enum.Enum):
            parts.append("one of " + ", ".join(str(m.value) for m in arg))
        elif typing.get_origin(arg) is typing.Literal:
            parts.append("one of " + ", ".join(map(str, typing.get_args(arg))))
        else:
            parts.append(getattr(arg, "__name__", str(arg)))
    bounds = [f"{k} {getattr(m, k)}" for m in field.metadata for k in ("ge", "gt", "le", "lt")
              if getattr(m, k, None) is not None]  # fmt: skip
    return " | ".join(parts) + (f" ({', '.join(bounds)})" if bounds else "")
