"""Request → Job → Result: the plain data that flows through the engine.

These are stdlib dataclasses on purpose: `--once` must not pay for importing pydantic, which stays
the validator at the boundary (config file, `IMAGEN_*`, `-o`). `GenerationRequest.problems()` is
the one place a request's values are checked; both faces map its field names to their inputs.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

MIN_SIDE = 64
MAX_SIDE = 4096
MAX_SEED = 2**32 - 1
MAX_STEPS = 500
MAX_COUNT = 64
MAX_PROMPT_CHARS = 20_000
"""Longer prompts are refused: no provider takes more, and they bloat PNG chunks and the index."""
MAX_REFERENCES = 16
MAX_REFERENCE_PIXELS = 100_000_000
"""A reference above 100 megapixels is refused before decoding (decompression bombs)."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One invalid value: `field` names the request field (or option key), `message` says why."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


@dataclass(frozen=True, slots=True)
class GenerationRequest:
    """What to make. One request with `count` > 1 becomes `count` jobs.

    `width`/`height` are pixels; `seed` is 0..MAX_SEED (None = the engine draws one); `backend`
    names a configured instance ("" = the config's default); `options` are per-run overrides of
    that instance's options (the `-o KEY=VALUE` pairs), validated by the engine.
    """

    prompt: str
    negative: str = ""
    width: int = 1024
    height: int = 1024
    seed: int | None = None
    steps: int | None = None
    style: str | None = None
    count: int = 1
    references: tuple[Path, ...] = ()
    backend: str = ""
    options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def size(self) -> str:
        return f"{self.width}x{self.height}"

    def replace(self, **changes: Any) -> GenerationRequest:
        return dataclasses.replace(self, **changes)

    def problems(self) -> list[Problem]:
        """Every value out of range, by field name; [] when the request is well-formed."""
        found = []
        if not self.prompt.strip():
            found.append(Problem("prompt", "must not be empty"))
        if len(self.prompt) > MAX_PROMPT_CHARS:
            found.append(
                Problem("prompt", f"{len(self.prompt)} characters; at most {MAX_PROMPT_CHARS}")
            )
        if len(self.negative) > MAX_PROMPT_CHARS:
            found.append(Problem("negative", f"at most {MAX_PROMPT_CHARS} characters"))
        for name, value in (("width", self.width), ("height", self.height)):
            if not MIN_SIDE <= value <= MAX_SIDE:
                found.append(Problem(name, f"{value} px is outside {MIN_SIDE}..{MAX_SIDE}"))
        _check_range(found, "seed", self.seed, 0, MAX_SEED)
        _check_range(found, "steps", self.steps, 1, MAX_STEPS)
        _check_range(found, "count", self.count, 1, MAX_COUNT)
        if len(self.references) > MAX_REFERENCES:
            found.append(Problem("references", f"at most {MAX_REFERENCES} reference images"))
        return found

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: paths as strings, options as a plain dict."""
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        data["references"] = [str(p) for p in self.references]
        data["options"] = dict(self.options)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GenerationRequest:
        """Inverse of `to_dict`; unknown keys are ignored; ValueError/TypeError on wrong types."""
        known = {f.name for f in dataclasses.fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in known}
        if not isinstance(kwargs.get("prompt"), str):
            raise ValueError("a request needs a prompt")
        for name in ("negative", "style", "backend"):
            if kwargs.get(name) is not None and not isinstance(kwargs[name], str):
                raise TypeError(f"{name} must be text")
        for name in ("width", "height", "seed", "steps", "count"):
            value = kwargs.get(name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise TypeError(f"{name} must be an integer")
        kwargs["references"] = tuple(Path(p) for p in kwargs.get("references") or ())
        kwargs["options"] = dict(kwargs.get("options") or {})
        kwargs["negative"] = kwargs.get("negative") or ""
        kwargs["backend"] = kwargs.get("backend") or ""
        return cls(**kwargs)


def _check_range(found: list[Problem], name: str, value: Any, low: int, high: int) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        found.append(Problem(name, "must be a whole number"))
    elif not low <= value <= high:
        found.append(Problem(name, f"{value} is outside {low}..{high}"))


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (JobState.DONE, JobState.FAILED, JobState.CANCELLED)


def new_job_id() -> str:
    return os.urandom(6).hex()  # 48 random bits, as uuid4().hex[:12] gave (uuid costs ~5 ms)


@dataclass(slots=True)
class Job:
    """One image being made. `request.count` is always 1 here; `index` is its place in the batch.

    Times are epoch seconds. `waiting_until` is set while the job backs off before a retry.
    """

    request: GenerationRequest
    """What the backend is asked for (style applied, seed resolved)."""
    id: str = field(default_factory=new_job_id)
    batch: str = ""
    index: int = 0
    user_prompt: str = ""
    """The prompt as the user typed it, before a style wrapped it."""
    user_negative: str = ""
    state: JobState = JobState.QUEUED
    progress: float = 0.0
    message: str = ""
    created_at: float = field(default_factory=time.time)
    updated_at: float = field(default_factory=time.time)
    started_at: float | None = None
    finished_at: float | None = None
    waiting_until: float | None = None
    remote_id: str | None = None
    attempts: int = 0
    error_code: str | None = None
    error_message: str | None = None
    output_path: str | None = None
    sidecar_path: str | None = None
    seed: int | None = None
    cost_usd: float | None = None
    pid: int | None = None
    cancel_requested: bool = False

    @property
    def backend(self) -> str:
        return self.request.backend

    @property
    def elapsed(self) -> float:
        """Seconds since it started (to its end once finished); 0 while queued."""
        if self.started_at is None:
            return 0.0
        return max(0.0, (self.finished_at or time.time()) - self.started_at)

    def copy(self, **changes: Any) -> Job:
        return dataclasses.replace(self, **changes)


@dataclass(slots=True)
class ImageResult:
    """What a backend returns for one image.

    `mime_type`, `width` and `height` are re-derived by the engine from the image header, so an
    adapter may leave them unset. `cost_usd` is in USD; `metadata` is provider data (never a
    secret) kept in the sidecar.
    """

    data: bytes
    mime_type: str | None = None
    seed: int | None = None
    revised_prompt: str | None = None
    cost_usd: float | None = None
    model: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    width: int | None = None
    height: int | None = None

    @property
    def extension(self) -> str:
        return EXTENSIONS.get(self.mime_type or "", "png")


EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp", "image/gif": "gif"}
