"""The headless progress display fits the terminal and redraws in place."""

from __future__ import annotations

import io
import os
import re

import pytest

from imagen_tui.backends import EventKind, GenerationRequest, Job, JobEvent, JobState
from imagen_tui.tui.progress_line import ProgressLine


class Screen:
    """Just enough of a terminal: printable text wraps at `columns`; CR, LF, ESC[K, ESC[1A."""

    def __init__(self, columns: int, rows: int = 24) -> None:
        self.columns, self.rows = columns, rows
        self.lines = [""] * rows
        self.row = self.col = 0

    def feed(self, text: str) -> None:
        for token in re.findall(r"\x1b\[1A|\x1b\[K|\r|\n|[^\x1b\r\n]", text):
            if token == "\r":
                self.col = 0
            elif token == "\n":
                self._down()
            elif token == "\x1b[K":
                self.lines[self.row] = self.lines[self.row][: self.col]
            elif token == "\x1b[1A":
                self.row = max(0, self.row - 1)
            else:
                if self.col >= self.columns:  # the wrap a too-long line causes
                    self._down()
                line = self.lines[self.row].ljust(self.col)
                self.lines[self.row] = line[: self.col] + token + line[self.col + 1 :]
                self.col += 1

    def _down(self) -> None:
        self.col = 0
        if self.row == self.rows - 1:
            self.lines = [*self.lines[1:], ""]  # the screen scrolls: the flood
        else:
            self.row += 1

    def text(self) -> list[str]:
        return [line for line in self.lines if line.strip()]


def jobs(n: int) -> list[Job]:
    request = GenerationRequest(prompt="a very long prompt " * 10)
    return [Job(request=request, index=i, state=JobState.QUEUED) for i in range(n)]


def run_through(columns: int, count: int, rows: int = 24) -> Screen:
    screen, stream = Screen(columns, rows), io.StringIO()
    display = ProgressLine(stream, os.terminal_size((columns, rows)))
    batch = jobs(count)
    for step in range(20):
        for job in batch:
            job.state = JobState.RUNNING
            job.progress, job.message = step / 20, f"step {step}/20 " + "detail " * 8
            display._drawn_at = 0.0  # noqa: SLF001 - draw every tick
            display.on_event(JobEvent(EventKind.PROGRESS, job.copy()))
    screen.feed(stream.getvalue())
    return screen


@pytest.mark.parametrize("columns", [50, 80, 120])
def test_three_jobs_keep_three_lines_at_any_width(columns: int) -> None:
    screen = run_through(columns, 3)
    shown = screen.text()
    assert len(shown) == 3, shown
    assert all(len(line) < columns for line in shown)
    assert [line.split()[0] for line in shown] == ["#1", "#2", "#3"]
    assert all("step 19/20" in line or line.endswith("…") for line in shown)


def test_more_jobs_than_fit_become_one_summary_line() -> None:
    screen = run_through(80, 12, rows=10)
    (line,) = screen.text()
    assert line.startswith("12 images: 12 running")


def test_clear_leaves_nothing_behind() -> None:
    stream = io.StringIO()
    display = ProgressLine(stream, os.terminal_size((60, 24)))
    for job in jobs(3):
        display.on_event(JobEvent(EventKind.QUEUED, job))
    display.clear()
    screen = Screen(60)
    screen.feed(stream.getvalue())
    assert screen.text() == []
