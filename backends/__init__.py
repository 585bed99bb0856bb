"""imagen-tui's engine: the one public API both faces use (`tui/` imports nothing deeper).

Names are exported lazily (PEP 562), so `import imagen_tui.backends` costs nothing until a name
is used: `--once` on the mock never imports pydantic models it does not need, nor httpx.

    engine = Engine.open()            # config, history store, job log (no I/O yet)
    await engine.start()              # opens them off the loop, settles orphaned jobs
    prepared = engine.prepare(GenerationRequest(prompt="a red fox", count=2))
    jobs = engine.submit(prepared)    # or engine.submit(request)
    await engine.wait(jobs)
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

_EXPORTS: dict[str, str] = {
    "Engine": "engine",
    "GenerationRequest": "models",
    "Job": "models",
    "JobState": "models",
    "ImageResult": "models",
    "Problem": "models",
    "MIN_SIDE": "models",
    "MAX_SIDE": "models",
    "MAX_SEED": "models",
    "MAX_STEPS": "models",
    "MAX_COUNT": "models",
    "MAX_PROMPT_CHARS": "models",
    "MAX_REFERENCES": "models",
    "JobEvent": "events",
    "EventKind": "events",
    "ErrorCode": "errors",
    "ImagenTuiError": "errors",
    "ImagenError": "errors",
    "ConfigError": "errors",
    "RequestError": "errors",
    "StoreError": "errors",
    "Prepared": "prepare",
    "BackendInfo": "options",
    "OptionSpec": "options",
    "option_specs": "options",
    "Backend": "base",
    "BackendOptions": "base",
    "ApiOptions": "base",
    "Capability": "base",
    "JobContext": "base",
    "Config": "config",
    "load_config": "config",
    "resolve_config_path": "config",
    "validate_file": "config",
    "sample_config": "config",
    "HistoryStore": "store.history",
    "HistoryPage": "store.history",
    "ImageRow": "store.index_rows",
    "ImageHeader": "imageheader",
    "read_header": "imageheader",
    "visible": "text",
    "open_for_display": "imaging",
    "ImageUnreadable": "imaging",
    "one_line": "text",
    "slugify": "store.naming",
    "paths": "",
    "logs": "",
    "registry": "",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if module == "":
        value: Any = import_module(f"{__name__}.{name}")
    else:
        value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:
    from . import logs, paths, registry
    from .base import ApiOptions, Backend, BackendOptions, Capability, JobContext
    from .config import Config, load_config, resolve_config_path, sample_config, validate_file
    from .engine import Engine
    from .errors import (
        ConfigError,
        ErrorCode,
        ImagenError,
        ImagenTuiError,
        RequestError,
        StoreError,
    )
    from .events import EventKind, JobEvent
    from .imageheader import ImageHeader, read_header
    from .imaging import ImageUnreadable, open_for_display
    from .models import (
        MAX_COUNT,
        MAX_PROMPT_CHARS,
        MAX_REFERENCES,
        MAX_SEED,
        MAX_SIDE,
        MAX_STEPS,
        MIN_SIDE,
        GenerationRequest,
        ImageResult,
        Job,
        JobState,
        Problem,
    )
    from .options import BackendInfo, OptionSpec, option_specs
    from .prepare import Prepared
    from .store.history import HistoryPage, HistoryStore
    from .store.index_rows import ImageRow
    from .store.naming import slugify
    from .text import one_line, visible
