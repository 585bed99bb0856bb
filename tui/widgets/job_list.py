"""The live job list: every job of the job log, newest first, one line each, drawn virtually.

Jobs arrive from engine events (this process) and from the job log's "changed since" poll (every
process); both go through `upsert`. `x`/`R`/`o` post `JobList.ActionRequested` for the screen.
"""

from __future__ import annotations

import time
from typing import Any

from rich.segment import Segment
from textual.geometry import Size
from textual.message import Message
from textual.strip import Strip

from imagen_tui.tui import bindings
from imagen_tui.tui.job_rows import display_state, job_line
from imagen_tui.tui.widgets.cursor_list import CursorList

MAX_JOBS = 1000  # older finished jobs drop off the list (they stay in the job log)
STATES = ("queued", "running", "waiting", "done", "failed", "cancelled")


class JobList(CursorList, can_focus=True):
    """Jobs by id; `cursor` indexes `order` (newest first)."""

    COMPONENT_CLASSES = {"job-list--cursor", *(f"job-list--{s}" for s in STATES)}
    DEFAULT_CSS = """
    JobList { overflow-x: hidden; }
    JobList > .job-list--queued { color: $text-muted; }
    JobList > .job-list--running { color: $text; }
    JobList > .job-list--waiting { color: $warning; }
    JobList > .job-list--done { color: $success; }
    JobList > .job-list--failed { color: $error; }
    JobList > .job-list--cancelled { color: $text-disabled; }
    JobList > .job-list--cursor { background: $block-cursor-blurred-background; }
    JobList:focus > .job-list--cursor { background: $block-cursor-background; }
    """
    BINDINGS = bindings.list_bindings(bindings.JOBS)

    class ActionRequested(Message):
        """The user asked to `cancel`, `retry` or `open` `job`."""

        def __init__(self, action: str, job: Any) -> None:
            super().__init__()
            self.action = action
            self.job = job

    class Highlighted(Message):
        """The cursor is on `job` (None when the list is empty)."""

        def __init__(self, job: Any) -> None:
            super().__init__()
            self.job = job

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:  # noqa: A002 (Textual's signature)
        super().__init__(id=id, classes=classes)
        self.jobs: dict[str, Any] = {}
        self.order: list[str] = []
        self.cursor = 0
        self.tick = 0

    def on_mount(self) -> None:
        self.set_interval(0.5, self._animate)

    def _animate(self) -> None:
        """Advance indeterminate bars and elapsed times while anything is unfinished."""
        if any(not self.jobs[i].state.finished for i in self.order):
            self.tick += 1
            self.refresh()

    @property
    def current(self) -> Any:
        return self.jobs[self.order[self.cursor]] if self.order else None

    def upsert(self, jobs: list[Any]) -> None:
        """Add or update jobs (newer `updated_at` wins), keeping the cursor on its job."""
        selected = self.order[self.cursor] if self.order else None
        for job in jobs:
            old = self.jobs.get(job.id)
            if old is not None and _stamp(old) > _stamp(job):
                continue
            self.jobs[job.id] = job
        self.order = sorted(self.jobs, key=lambda i: self.jobs[i].created_at, reverse=True)
        for dropped in self.order[MAX_JOBS:]:
            del self.jobs[dropped]
        self.order = self.order[:MAX_JOBS]
        if selected in self.jobs:
            self.cursor = self.order.index(selected)
        self.cursor = max(0, min(self.cursor, len(self.order) - 1))
        self.virtual_size = Size(0, len(self.order))
        self.refresh()
        if selected is None or (self.order and self.order[self.cursor] == selected):
            self.post_message(self.Highlighted(self.current))

    def running_here(self, pid: int) -> int:
        """How many unfinished jobs belong to process `pid`."""
        return sum(
            1 for j in self.jobs.values() if not j.state.finished and getattr(j, "pid", None) == pid
        )

    def render_line(self, y: int) -> Strip:
        index = self.scroll_offset.y + y
        width = self.scrollable_content_region.width
        if index >= len(self.order):
            return Strip.blank(width, self.visual_style.rich_style)  # cached; rich_style is not
        job = self.jobs[self.order[index]]
        line = job_line(job, time.time(), self.tick)
        style = self.get_component_rich_style(f"job-list--{line.state}")
        if index == self.cursor:
            style += self.get_component_rich_style("job-list--cursor")
        return Strip([Segment(line.text(width), style)]).adjust_cell_length(width, style)

    @property
    def row_count(self) -> int:
        return len(self.order)

    def _cursor_moved(self) -> None:
        self.post_message(self.Highlighted(self.current))

    def _request(self, action: str) -> None:
        if self.current is not None:
            self.post_message(self.ActionRequested(action, self.current))

    def action_cancel(self) -> None:
        self._request("cancel")

    def action_retry(self) -> None:
        self._request("retry")

    def action_open(self) -> None:
        self._request("open")

    def state_of(self, job_id: str) -> str | None:
        """The displayed state of a job (for tests and the status line)."""
        job = self.jobs.get(job_id)
        return display_state(job) if job is not None else None


def _stamp(job: Any) -> float:
    return getattr(job, "updated_at", None) or job.finished_at or job.started_at or job.created_at
