"""Backend types from the `imagen_tui.backends` entry-point group; instances from the config.

Built-in types register through the same group as third-party plugins. Names are listed without
importing anything; a type is imported only when it is used, and one that fails to import costs
one stderr line, not the run.
"""

from __future__ import annotations

import sys
from functools import cache
from importlib import import_module
from typing import TYPE_CHECKING, Any

from .errors import ConfigError

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

    from .base import Backend, BackendOptions

GROUP = "imagen_tui.backends"

# The built-in types, exactly as pyproject.toml registers them in GROUP (a test keeps the two
# equal). Resolving a built-in from here spares `--once` the scan of every installed
# distribution's metadata (~25 ms of start-up); plugins are still found through GROUP.
BUILTIN_TYPES: dict[str, str] = {
    "mock": "imagen_tui.backends.adapters.mock:MockBackend",
    "comfyui": "imagen_tui.backends.adapters.comfyui:ComfyUIBackend",
    "gemini": "imagen_tui.backends.adapters.gemini:GeminiBackend",
    "xai": "imagen_tui.backends.adapters.xai:XaiBackend",
    "a1111": "imagen_tui.backends.adapters.a1111:A1111Backend",
    "pool": "imagen_tui.backends.adapters.pool:PoolBackend",
    "replicate": "imagen_tui.backends.adapters.replicate:ReplicateBackend",
    "fal": "imagen_tui.backends.adapters.fal:FalBackend",
    "openai": "imagen_tui.backends.adapters.openai_images:OpenAIImagesBackend",
    "openai-responses": "imagen_tui.backends.adapters.openai_responses:OpenAIResponsesBackend",
}


# Options models that live apart from their adapter, so validating a config does not import
# the adapter's dependencies (the mock's Pillow drawing code).
BUILTIN_OPTIONS: dict[str, str] = {
    "mock": "imagen_tui.backends.adapters.mock_options:MockOptions",
}


def options_type(name: str) -> type[BackendOptions]:
    """The Options model of a backend type, importing as little as possible; ConfigError like
    `backend_type` on a miss."""
    if name in BUILTIN_OPTIONS and name not in _loaded:
        # Our own `module:attr` table (a test keeps it true): the target is an Options class.
        options: type[BackendOptions] = _Builtin(BUILTIN_OPTIONS[name]).load()
        return options
    return backend_type(name).Options


@cache
def _entry_points() -> dict[str, EntryPoint]:
    from importlib.metadata import entry_points

    found: dict[str, EntryPoint] = {}
    for ep in entry_points(group=GROUP):
        found.setdefault(ep.name, ep)
    return found


def type_names() -> list[str]:
    """Every registered backend type, without importing any of them."""
    return sorted(set(BUILTIN_TYPES) | set(_entry_points()) | set(_loaded))


_loaded: dict[str, type[Backend]] = {}
_broken: dict[str, str] = {}


def backend_type(name: str) -> type[Backend]:
    """Import and return one backend type; ConfigError names the installed ones on a miss."""
    if name in _loaded:
        return _loaded[name]
    ep: _Builtin | EntryPoint | None = (
        _Builtin(BUILTIN_TYPES[name]) if name in BUILTIN_TYPES else _entry_points().get(name)
    )
    if ep is None:
        raise ConfigError(
            f"unknown backend type {name!r}; installed types: {', '.join(type_names())}"
        )
    if name in _broken:
        raise ConfigError(f"backend type {name!r} failed to load: {_broken[name]}")
    try:
        cls = ep.load()
    except Exception as exc:  # a broken plugin must not take the run down
        raise _broken_type(name, f"{type(exc).__name__}: {exc}") from None
    from .base import Backend  # loaded already: every backend type subclasses it

    if not (isinstance(cls, type) and issubclass(cls, Backend)):
        raise _broken_type(name, f"{ep.value!r} is not a Backend subclass")
    _loaded[name] = cls
    return cls


def _broken_type(name: str, reason: str) -> ConfigError:
    """Remember why type `name` cannot load, say so once on stderr, and return the error."""
    _broken[name] = reason
    print(f"imagen-tui: backend type {name!r} failed to load ({reason})", file=sys.stderr)
    return ConfigError(f"backend type {name!r} failed to load: {reason}")


def loadable_types() -> dict[str, type[Backend] | str]:
    """Every type mapped to its class, or to the reason it failed to import."""
    result: dict[str, type[Backend] | str] = {}
    for name in type_names():
        try:
            result[name] = backend_type(name)
        except ConfigError as exc:
            result[name] = str(exc)
    return result


def register(name: str, cls: type[Backend]) -> None:
    """Register a type in-process (tests and embedding); entry points remain the normal way."""
    _loaded[name] = cls
    _broken.pop(name, None)


def unregister(name: str) -> None:
    _loaded.pop(name, None)


class _Builtin:
    """A built-in type's `module:attr` target, loaded like an EntryPoint."""

    def __init__(self, value: str) -> None:
        self.value = value

    def load(self) -> Any:
        module, _, attr = self.value.partition(":")
        return getattr(import_module(module), attr)
