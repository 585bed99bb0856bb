"""The live progress display on stderr for the headless mode (terminals only).

One line per job while they fit the terminal (at most MAX_JOB_LINES), else one summary line.
Every line is cut to the terminal's width, so nothing wraps and each redraw replaces exactly
what the last one drew: no stale lines at 80 columns, no flood at 50.
"""

from __future__ import annotations

import os
import sys
import time
from collections import Counter
from typing import TextIO

from imagen_tui.backends import EventKind, Job, JobEvent, JobState, one_line

REDRAW_INTERVAL_S = 0.1
MAX_JOB_LINES = 8


class ProgressLine:
    """Redraws the state of every job of a run, at most ten times a second."""

    def __init__(self, stream: TextIO | None = None, size: os.terminal_size | None = None) -> None:
        self.stream = stream or sys.stderr
        self._size = size
        self._jobs: dict[str, Job] = {}
        self._drawn_at = 0.0
        self._lines = 0  # how many lines the last redraw left on screen

    def on_event(self, event: JobEvent) -> None:
        self._jobs[event.job.id] = event.job
        now = time.monotonic()
        throttled = event.kind in (EventKind.PROGRESS, EventKind.PREVIEW)
        if throttled and now - self._drawn_at < REDRAW_INTERVAL_S:
            return
        self._drawn_at = now
        self.stream.write(self._erase() + "\n".join(self.render()))
        self.stream.flush()

    def render(self) -> list[str]:
        """The lines to draw now, each shorter than the terminal is wide."""
        columns, rows = self._terminal()
        jobs = sorted(self._jobs.values(), key=lambda j: j.index)
        width = max(10, columns - 1)
        if len(jobs) == 1 or len(jobs) <= min(MAX_JOB_LINES, rows - 1):
            lines = [describe(job) for job in jobs]
        else:
            lines = [summary(jobs)]
        self._lines = len(lines)
        return [_fit(line, width) for line in lines]

    def clear(self) -> None:
        self.stream.write(self._erase())
        self.stream.flush()
        self._lines = 0

    def _erase(self) -> str:
        """Back to the first line drawn last time, clearing each line on the way."""
        up = max(0, self._lines - 1)
        return "\r\x1b[K" + "\x1b[1A\r\x1b[K" * up

    def _terminal(self) -> tuple[int, int]:
        size = self._size
        if size is None:
            try:
                size = os.get_terminal_size(self.stream.fileno())
            except (OSError, ValueError, AttributeError):
                import shutil  # its fallbacks ($COLUMNS, then 80x24); costly to import

                size = shutil.get_terminal_size()
        # A pty nobody sized reports 0×0: assume the classic terminal.
        return size.columns if size.columns > 0 else 80, size.lines if size.lines > 0 else 24


def describe(job: Job) -> str:
    status = str(job.state)
    if job.state is JobState.RUNNING:
        status = f"running {job.progress:4.0%} {one_line(job.message, 60)}".rstrip()
    elif job.state is JobState.QUEUED and job.message:
        status = f"waiting: {one_line(job.message, 60)}"
    elif job.state is JobState.FAILED:
        status = f"failed: {job.error_code}"
    return f"#{job.index + 1} {status}  {job.elapsed:.1f}s"


def summary(jobs: list[Job]) -> str:
    states = Counter(str(job.state) for job in jobs)
    parts = [f"{n} {state}" for state, n in sorted(states.items())]
    done = sum(job.progress if not job.state.finished else 1.0 for job in jobs) / len(jobs)
    elapsed = max((job.elapsed for job in jobs), default=0.0)
    return f"{len(jobs)} images: {' · '.join(parts)}  {done:.0%}  {elapsed:.1f}s"


def _fit(line: str, width: int) -> str:
    return line if len(line) <= width else line[: width - 1] + "…"
