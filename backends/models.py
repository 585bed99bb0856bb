"""Request → Job → Result: the data that flows through the engine."""

from __future__ import annotations

import time
import uuid
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

MIN_SIDE = 64
MAX_SIDE = 4096
MAX_SEED = 2**32 - 1


class GenerationRequest(BaseModel):
    """What to make. One request with `count` > 1 becomes `count` jobs."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    prompt: str = Field(min_length=1)
    negative: str = ""
    width: int = Field(default=1024, ge=MIN_SIDE, le=MAX_SIDE)
    height: int = Field(default=1024, ge=MIN_SIDE, le=MAX_SIDE)
    seed: int | None = Field(default=None, ge=0, le=MAX_SEED)
    steps: int | None = Field(default=None, ge=1, le=500)
    style: str | None = None
    count: int = Field(default=1, ge=1, le=64)
    references: tuple[Path, ...] = ()
    backend: str = "mock"
    options: dict[str, Any] = Field(default_factory=dict)

    @property
    def size(self) -> str:
        return f"{self.width}x{self.height}"


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
    return uuid.uuid4().hex[:12]


class Job(BaseModel):
    """One image being made. `request.count` is always 1 here; `index` is its place in the batch."""

    model_config = ConfigDict(validate_assignment=False)

    id: str = Field(default_factory=new_job_id)
    batch: str = ""
    index: int = 0
    request: GenerationRequest
    """What the backend is asked for (style already applied)."""
    user_prompt: str = ""
    """The prompt as the user typed it, before a style wrapped it."""
    user_negative: str = ""
    state: JobState = JobState.QUEUED
    progress: float = 0.0
    message: str = ""
    created_at: float = Field(default_factory=time.time)
    started_at: float | None = None
    finished_at: float | None = None
    remote_id: str | None = None
    attempts: int = 0
    error_code: str | None = None
    error_message: str | None = None
    output_path: str | None = None
    sidecar_path: str | None = None
    seed: int | None = None
    cost_usd: float | None = None
    pid: int | None = None

    @property
    def elapsed(self) -> float:
        if self.started_at is None:
            return 0.0
        return (self.finished_at or time.time()) - self.started_at


class ImageResult(BaseModel):
    """What a backend returns for one image."""

    data: bytes
    mime_type: str = "image/png"
    seed: int | None = None
    revised_prompt: str | None = None
    cost_usd: float | None = None
    model: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    @property
    def extension(self) -> str:
        return {"image/jpeg": "jpg", "image/webp": "webp"}.get(self.mime_type, "png")
