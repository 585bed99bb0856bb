"""A live one-line progress display on stderr for the headless mode (terminals only)."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from imagen_tui.backends import EventKind, Job, JobEvent, JobState, one_line

REDRAW_INTERVAL_S = 0.1


class ProgressLine:
    """Redraws `state progress elapsed` for every job of a run, at most ten times a second."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self._jobs: dict[str, Job] = {}
        self._drawn_at = 0.0

    def on_event(self, event: JobEvent) -> None:
        self._jobs[event.job.id] = event.job
        now = time.monotonic()
        if event.kind is EventKind.PROGRESS and now - self._drawn_at < REDRAW_INTERVAL_S:
            return
        self._drawn_at = now
        self.stream.write("\r\x1b[K" + self.render())
        self.stream.flush()

    def render(self) -> str:
        jobs = sorted(self._jobs.values(), key=lambda j: j.index)
        parts = [describe(job) for job in jobs]
        elapsed = max((j.elapsed for j in jobs), default=0.0)
        return f"{' · '.join(parts)}  {elapsed:.1f}s"

    def clear(self) -> None:
        self.stream.write("\r\x1b[K")
        self.stream.flush()


def describe(job: Job) -> str:
    status = str(job.state)
    if job.state is JobState.RUNNING:
        status = f"running {job.progress:4.0%} {one_line(job.message)}".rstrip()
    elif job.state is JobState.QUEUED and job.message:
        status = f"waiting: {one_line(job.message)}"
    return f"#{job.index + 1} {status}"
