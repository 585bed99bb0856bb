"""Each job state reads clearly in the job list, with untrusted text made visible."""

from __future__ import annotations

from pathlib import Path

from imagen_tui.backends import GenerationRequest, JobState
from imagen_tui.tui.job_rows import (
    display_state,
    format_elapsed,
    job_details,
    job_line,
    progress_bar,
)
from tests.tui.fake_engine import FakeJob

NOW = 1_800_000_000.0


def job(**kw: object) -> FakeJob:
    fields = {"id": "j1", "request": GenerationRequest(prompt="fox"), "user_prompt": "fox"}
    fields |= {"backend": "mock", "created_at": NOW - 10, "started_at": NOW - 4.2}
    return FakeJob(**(fields | kw))  # type: ignore[arg-type]


def test_states_and_icons() -> None:
    cases = {
        "queued": job(state=JobState.QUEUED, started_at=None),
        "running": job(state=JobState.RUNNING, progress=0.5),
        "waiting": job(state=JobState.RUNNING, waiting_until=NOW + 3),
        "done": job(state=JobState.DONE, finished_at=NOW),
        "failed": job(state=JobState.FAILED, error_code="rate_limited", error_message="slow down"),
        "cancelled": job(state=JobState.CANCELLED, finished_at=NOW),
    }
    for state, item in cases.items():
        assert display_state(item, NOW) == state
        assert job_line(item, NOW).state == state
    assert "█████░░░░░" in job_line(cases["running"], NOW).head
    assert "retry in 3s" in job_line(cases["waiting"], NOW).head
    assert job_line(cases["failed"], NOW).detail == "rate_limited: slow down"
    assert job_line(cases["queued"], NOW).head.startswith("○ queued")
    # waiting_until in the past: back to running
    assert display_state(job(state=JobState.RUNNING, waiting_until=NOW - 1), NOW) == "running"


def test_indeterminate_bar_moves() -> None:
    assert progress_bar(0, 5, tick=0) == "▪····"
    assert progress_bar(None, 5, tick=6) == "·▪···"
    assert progress_bar(1.0, 4) == "████"


def test_elapsed_formats() -> None:
    assert [format_elapsed(s) for s in (4.25, 185, 3725)] == ["4.2s", "3m05s", "1h02m"]


def test_control_characters_never_reach_the_line() -> None:
    evil = "fox\x1b[2J\x07\u202eevil\nnext"
    item = job(user_prompt=evil, state=JobState.FAILED, error_code="bad", error_message=evil)
    line = job_line(item, NOW)
    for text in (line.text(200), job_details(item, NOW)):
        assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
    assert "\n" not in line.text(200)


def test_details_name_the_image() -> None:
    item = job(state=JobState.DONE, output_path=str(Path("/x/fox.png")), seed=9, message="saved")
    details = job_details(item, NOW)
    assert "image: /x/fox.png" in details and "seed: 9" in details and "status: saved" in details
