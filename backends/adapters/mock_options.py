"""The mock backend's options, apart from its drawing code: reading a config that names the
mock (every config: it is built in) must not import Pillow and asyncio."""

from __future__ import annotations

from dataclasses import field

from ..base import BackendOptions
from ..errors import ErrorCode
from ..schema import bounds


class MockOptions(BackendOptions):
    """Options of the offline mock backend."""

    max_concurrent: int = field(default=4, metadata=bounds(ge=1, le=64))
    """How many jobs this instance runs at once."""
    latency_s: float = field(default=0.0, metadata=bounds(ge=0, le=600))
    """Total simulated time per image, in seconds (e.g. 3 to watch progress)."""
    steps: int = field(default=8, metadata=bounds(ge=1, le=500))
    """Simulated steps per image (a request's steps override it)."""
    fail_with: ErrorCode | None = None
    """Make every job fail with this error code, to exercise failure paths."""
    fail_after_steps: int = field(default=0, metadata=bounds(ge=0, le=500))
    """With fail_with: fail after this many steps (0 = at once)."""
    retry_after_s: float | None = field(default=None, metadata=bounds(ge=0, le=3600))
    """With fail_with = "rate_limited": the Retry-After, in seconds, the failure carries."""
