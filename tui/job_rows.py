"""How one job reads in the job list: pure functions from a `Job` to text (no Textual).

A job is in one of six displayed states: the engine's five `JobState`s, with "running" split into
running and waiting-to-retry (`waiting_until` set while the engine backs off).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from imagen_tui.tui.text import excerpt, safe

BAR_CELLS = 10
ICONS = {
    "queued": "○",
    "running": "●",
    "waiting": "↻",
    "done": "✓",
    "failed": "✗",
    "cancelled": "⊘",
}


def display_state(job: Any, now: float | None = None) -> str:
    """`queued|running|waiting|done|failed|cancelled`; waiting = backing off before a retry."""
    state = str(getattr(job.state, "value", job.state))
    waiting = getattr(job, "waiting_until", None)
    now = time.time() if now is None else now
    if state in ("queued", "running") and waiting is not None and waiting > now:
        return "waiting"
    return state


def progress_bar(progress: float | None, cells: int = BAR_CELLS, tick: int = 0) -> str:
    """`█████░░░░░` for a fraction 0..1; a moving `▪` when progress is unknown (None or 0)."""
    if progress is None or progress <= 0:
        pos = tick % cells
        return "".join("▪" if i == pos else "·" for i in range(cells))
    filled = round(max(0.0, min(1.0, progress)) * cells)
    return "█" * filled + "░" * (cells - filled)


def format_elapsed(seconds: float) -> str:
    """`4.2s`, `3m05s` or `1h02m`."""
    if seconds < 60:
        return f"{seconds:.1f}s"
    if seconds < 3600:
        return f"{int(seconds // 60)}m{int(seconds % 60):02d}s"
    return f"{int(seconds // 3600)}h{int(seconds % 3600 // 60):02d}m"


@dataclass(frozen=True)
class JobLine:
    """The pieces of one list line; `state` names the CSS component class to colour it."""

    state: str
    head: str
    detail: str

    def text(self, width: int) -> str:
        line = f"{self.head}  {self.detail}"
        return excerpt(line, width) if width > 0 else line


def _status(job: Any, state: str, now: float, tick: int) -> str:
    if state == "running":
        return progress_bar(job.progress, tick=tick)
    if state == "waiting":
        left = max(0, round(job.waiting_until - now))
        return f"retry in {left}s".ljust(BAR_CELLS)
    return state.ljust(BAR_CELLS)


def job_line(job: Any, now: float | None = None, tick: int = 0) -> JobLine:
    """The line for `job`: icon, status (bar/countdown/state), elapsed, backend, prompt or error."""
    now = time.time() if now is None else now
    state = display_state(job, now)
    elapsed = format_elapsed(job.elapsed) if job.started_at else "  -  "
    backend = safe(getattr(job, "backend", "") or job.request.backend)[:10]
    head = f"{ICONS[state]} {_status(job, state, now, tick)} {elapsed:>6} {backend:<10}"
    if state == "failed":
        detail = f"{safe(job.error_code or 'internal')}: {safe(job.error_message or '')}"
    else:
        detail = safe(job.user_prompt or job.request.prompt)
    return JobLine(state, head, detail)


def job_details(job: Any, now: float | None = None) -> str:
    """A multi-line description of the selected job for the details panel."""
    now = time.time() if now is None else now
    state = display_state(job, now)
    lines = [
        f"{ICONS[state]} {state}  job {job.id}  {safe(getattr(job, 'backend', '') or '')}",
        f"prompt: {safe(job.user_prompt or job.request.prompt)}",
    ]
    if job.message:
        lines.append(f"status: {safe(job.message)}")
    if state == "failed":
        lines.append(f"error: {safe(job.error_code)}: {safe(job.error_message)}")
    if job.output_path:
        lines.append(f"image: {safe(job.output_path)}")
    if job.seed is not None:
        lines.append(f"seed: {job.seed}")
    return "\n".join(lines)
