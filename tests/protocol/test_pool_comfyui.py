"""The pool over real `comfyui` members and the fake ComfyUI (branch `httpcore`).

Skipped until the comfyui adapter, its fake and its `queue_depth` are all on the branch: then it
proves least-busy dispatch, cancel on the right host and resume after a kill on the host that
has the prompt, with the real adapter.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from imagen_tui.backends.adapters import comfyui
from imagen_tui.backends.base import Backend
from imagen_tui.backends.models import GenerationRequest, Job, JobState
from imagen_tui.backends.store.joblog import JobLog
from tests.fakes import comfyui as fake
from tests.fakes.server import running

from .a1111_helpers import eventually, make_engine, request, sidecar


def test_comfyui_reports_its_queue_depth() -> None:
    """The pool needs it: without an override the base class raises and pools fail."""
    assert comfyui.ComfyUIBackend.queue_depth is not Backend.queue_depth


def pool_of_two(url1: str, url2: str) -> str:
    member = 'type = "comfyui"\nbase_url = "{}"\ncheckpoint = "{}"\npoll_s = 0.05\n'
    return (
        "[backends.c1]\n" + member.format(url1, fake.CHECKPOINTS[0])
        + "[backends.c2]\n" + member.format(url2, fake.CHECKPOINTS[0])
        + '[backends.farm]\ntype = "pool"\nmembers = ["c1", "c2"]\n'
    )  # fmt: skip


def big(**kw: Any) -> GenerationRequest:
    return request("farm", width=512, height=512, **kw)


def test_least_busy_then_cancel_on_the_host_that_runs_it(tmp_path: Path) -> None:
    with running() as s1, running() as s2:
        c1, _ = fake.FakeComfyUI(s1), fake.FakeComfyUI(s2)
        c1.behaviour.outcome = "hold"

        async def main() -> tuple[Job, Job]:
            async with httpx.AsyncClient() as http:
                engine = make_engine(tmp_path, pool_of_two(s1.url, s2.url), http)
                await engine.start()
                (held,) = engine.submit(big())  # both idle: the first listed gets it
                await eventually(lambda: c1.running, "c1 to run the first prompt")
                (second,) = await engine.run(big())  # c1 is busy now
                assert await engine.cancel(held.id)
                (held,) = await engine.wait([held])
                return held, second

        held, second = asyncio.run(main())
    assert second.state is JobState.DONE and (second.remote_id or "").startswith("c2:")
    assert sidecar(second)["provider"]["pool_member"] == "c2"
    assert held.state is JobState.CANCELLED and (held.remote_id or "").startswith("c1:")
    assert c1.interrupted_ids == [(held.remote_id or "").split(":", 1)[1]]


def test_a_killed_job_resumes_on_the_comfyui_host_that_has_it(tmp_path: Path) -> None:
    dead_pid = int(
        subprocess.run(
            [sys.executable, "-c", "import os; print(os.getpid())"],
            capture_output=True, text=True, check=True,
        ).stdout
    )  # fmt: skip
    with running() as s1, running() as s2:
        _, c2 = fake.FakeComfyUI(s1), fake.FakeComfyUI(s2)
        c2.behaviour.outcome = "hold"
        graph = {
            "1": {"class_type": "EmptyImage",
                  "inputs": {"width": 64, "height": 64, "batch_size": 1, "color": 255}},
            "2": {"class_type": "SaveImage",
                  "inputs": {"images": ["1", 0], "filename_prefix": "imagen-tui"}},
        }  # fmt: skip

        async def submit_before_the_crash() -> None:
            async with httpx.AsyncClient() as http:
                sent = await http.post(
                    f"{s2.url}/prompt", json={"prompt": graph, "prompt_id": "p-77"}
                )
                sent.raise_for_status()

        asyncio.run(submit_before_the_crash())
        orphan = Job(request=big(seed=11), state=JobState.RUNNING, remote_id="c2:p-77",
                     pid=dead_pid, started_at=1.0)  # fmt: skip
        log = JobLog(tmp_path / "state" / "jobs.sqlite3").open()
        log.record([orphan])
        log.close()

        async def main() -> Job:
            async with httpx.AsyncClient() as http:
                engine = make_engine(tmp_path, pool_of_two(s1.url, s2.url), http)
                (resumed,) = await engine.start()
                await asyncio.to_thread(c2.release)
                (job,) = await engine.wait([resumed])
                return job

        job = asyncio.run(main())
        assert s1.requests == []  # the other host was never asked
        assert len(s2.requests_to("POST", "/prompt")) == 1  # not paid for twice
    assert job.state is JobState.DONE and job.remote_id == "c2:p-77", job.error_message
    assert sidecar(job)["provider"]["pool_member"] == "c2"
