"""Engine events and the bus that fans them out to any number of subscribers."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from .models import Job


class EventKind(StrEnum):
    QUEUED = "queued"
    STARTED = "started"
    PROGRESS = "progress"
    PREVIEW = "preview"
    RETRYING = "retrying"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class JobEvent:
    """Something happened to a job; `job` is a snapshot taken when it happened.

    `preview` holds a streamed partial image (PNG/JPEG/WebP bytes) for PREVIEW events.
    """

    kind: EventKind
    job: Job
    preview: bytes | None = None


Subscriber = Callable[[JobEvent], None]


class EventBus:
    """Synchronous fan-out. A failing subscriber is reported once and never stops the engine."""

    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Add a subscriber; returns a function that removes it."""
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback) if callback in self._subscribers else None

    def publish(self, kind: EventKind, job: Job, *, preview: bytes | None = None) -> None:
        if not self._subscribers:
            return
        event = JobEvent(kind, job.copy(), preview)
        for callback in list(self._subscribers):
            try:
                callback(event)
            except Exception as exc:  # a broken UI must not break generation
                logging.getLogger("imagen_tui").warning("event subscriber failed: %r", exc)
