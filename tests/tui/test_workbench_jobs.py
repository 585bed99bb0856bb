"""The live job list: every state, streamed previews, other processes' jobs, failures."""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Any

from PIL import Image
from textual.pilot import Pilot

from imagen_tui.backends import EventKind, JobState
from imagen_tui.tui.job_rows import job_line
from imagen_tui.tui.widgets.job_list import JobList
from tests.tui.workbench_helpers import drive, make_app, notes, settle, type_text, wait_for


def jobs_of(pilot: Pilot[Any]) -> JobList:
    return pilot.app.screen.query_one(JobList)


def test_every_job_state_is_shown(tmp_path: Path) -> None:
    app, engine = make_app(tmp_path)
    seen: dict[str, str] = {}

    async def steps(pilot: Pilot[Any]) -> None:
        await type_text(pilot, "fox")
        await pilot.press("ctrl+g")
        await settle(pilot)
        (job,) = engine.local.values()
        lst = jobs_of(pilot)
        seen["queued"] = lst.state_of(job.id)
        now = time.time()
        moves = [
            ("running", EventKind.STARTED, {"state": JobState.RUNNING, "started_at": now}),
            ("progress", EventKind.PROGRESS, {"progress": 0.4, "message": "step 8/20"}),
            ("waiting", EventKind.RETRYING, {"waiting_until": now + 30}),
            ("running again", EventKind.STARTED, {"waiting_until": None}),
            ("failed", EventKind.FAILED, {"state": JobState.FAILED, "error_code": "rate_limited",
                                          "error_message": "slow down", "finished_at": now}),
        ]  # fmt: skip
        for label, kind, fields in moves:
            engine.set_state(job.id, kind, **fields)
            await settle(pilot)
            seen[label] = lst.state_of(job.id)
            if label == "progress":
                assert "████░░░░░░" in job_line(lst.jobs[job.id]).head
        assert any("rate_limited: slow down" in n for n in notes(app))
        detail = str(app.screen.query_one("#job-detail").content)
        assert "error: rate_limited: slow down" in detail
        await pilot.press("f3", "R")
        await settle(pilot)
        retried = lst.current
        engine.set_state(retried.id, EventKind.DONE, state=JobState.DONE, finished_at=now)
        await settle(pilot)
        seen["done"] = lst.state_of(retried.id)
        await pilot.press("ctrl+g", "f3", "g")  # a new job, on top
        await settle(pilot)
        assert lst.state_of(lst.current.id) == "queued"
        await pilot.press("x")
        await wait_for(pilot, lambda: lst.state_of(lst.current.id) == "cancelled")
        seen["cancelled"] = "cancelled"

    drive(app, steps)
    assert seen == {
        "queued": "queued", "running": "running", "progress": "running", "waiting": "waiting",
        "running again": "running", "failed": "failed", "done": "done", "cancelled": "cancelled",
    }  # fmt: skip


def test_jobs_of_other_processes_arrive_through_the_job_log(tmp_path: Path) -> None:
    app, engine = make_app(tmp_path)

    async def steps(pilot: Pilot[Any]) -> None:
        other = engine.add_foreign("from another pane", state=JobState.RUNNING, progress=0.5)
        await wait_for(pilot, lambda: other.id in jobs_of(pilot).jobs)
        assert jobs_of(pilot).state_of(other.id) == "running"
        other.state, other.updated_at = JobState.DONE, time.time() + 1
        await wait_for(pilot, lambda: jobs_of(pilot).state_of(other.id) == "done")
        assert app.running_here() == 0  # not ours: quitting would not ask

    drive(app, steps)


def test_streamed_preview_is_drawn(tmp_path: Path) -> None:
    app, engine = make_app(tmp_path)

    async def steps(pilot: Pilot[Any]) -> None:
        await type_text(pilot, "fox")
        await pilot.press("ctrl+g")
        await settle(pilot)
        (job,) = engine.local.values()
        buf = io.BytesIO()
        Image.new("RGB", (32, 32), (250, 10, 10)).save(buf, "PNG")
        engine.publish(EventKind.PREVIEW, job, buf.getvalue())
        engine.publish(EventKind.PREVIEW, job, b"not a png")  # ignored, never a crash
        await settle(pilot)
        image = app.screen.query_one("#job-preview").image
        assert image is not None and image.getpixel((0, 0)) == (250, 10, 10)

    drive(app, steps, size=(170, 40))
