"""The comfyui adapter run by the real Engine against a fake ComfyUI on 127.0.0.1: retries,
timeouts, cancel, events, and resume after the process is killed."""

from __future__ import annotations

import asyncio
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from PIL import Image

from imagen_tui.backends.config import load_config
from imagen_tui.backends.engine import Engine
from imagen_tui.backends.events import EventKind, JobEvent
from imagen_tui.backends.models import GenerationRequest, Job, JobState
from imagen_tui.backends.retry import RetryPolicy
from tests.fakes.comfyui import CHECKPOINTS, FakeComfyUI, png_bytes
from tests.fakes.server import Reply

ROOT = Path(__file__).resolve().parents[2]


def config_file(
    tmp_path: Path, url: str, extra: str = "", checkpoint: str = CHECKPOINTS[0]
) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[output]\ndir = "{tmp_path / "out"}"\n'
        f'[backends.gpu]\ntype = "comfyui"\nbase_url = "{url}"\n'
        f'checkpoint = "{checkpoint}"\npoll_s = 0.05\n{extra}'
    )
    return path


def engine_for(
    tmp_path: Path, comfy: FakeComfyUI, extra: str = "", checkpoint: str = CHECKPOINTS[0]
) -> Engine:
    config = load_config(config_file(tmp_path, comfy.server.url, extra, checkpoint))
    return Engine(config, None, retry=RetryPolicy(retries=3, base_s=0.01, cap_s=0.05))


def request() -> GenerationRequest:
    return GenerationRequest(prompt="a red fox", backend="gpu", width=512, height=512, seed=11)


def run_job(engine: Engine, events: list[JobEvent] | None = None) -> Job:
    async def main() -> Job:
        await engine.start()
        if events is not None:
            engine.subscribe(events.append)
        try:
            (job,) = await engine.run(request())
            return job
        finally:
            await engine.aclose()

    return asyncio.run(main())


def test_success_with_progress_and_preview_events(tmp_path: Path, comfy: FakeComfyUI) -> None:
    comfy.behaviour.steps, comfy.behaviour.previews = 3, 1
    events: list[JobEvent] = []
    job = run_job(engine_for(tmp_path, comfy), events)
    assert job.state is JobState.DONE and job.seed == 11 and job.attempts == 1
    kinds = [e.kind for e in events]
    assert kinds[0] is EventKind.QUEUED and kinds[-1] is EventKind.DONE
    steps = [e.job.message for e in events if e.kind is EventKind.PROGRESS]
    assert "step 3/3" in steps
    (preview,) = [e.preview for e in events if e.kind is EventKind.PREVIEW]
    assert preview is not None and preview.startswith(b"\x89PNG")
    (post,) = comfy.server.requests_to("POST", "/prompt")
    assert post.json()["prompt_id"] == job.remote_id


def test_429_with_retry_after_then_success(tmp_path: Path, comfy: FakeComfyUI) -> None:
    comfy.prompt_failures = [
        Reply(status=429, json={"error": "queue full"}, headers={"Retry-After": "1"})
    ]
    events: list[JobEvent] = []
    job = run_job(engine_for(tmp_path, comfy), events)
    assert job.state is JobState.DONE and job.attempts == 2
    (retrying,) = [e.job.message for e in events if e.kind is EventKind.RETRYING]
    assert retrying.startswith("rate_limited") and "in 1.0s" in retrying  # Retry-After honoured
    ids = [r.json()["prompt_id"] for r in comfy.server.requests_to("POST", "/prompt")]
    assert ids == [job.remote_id, job.remote_id]


def test_500_twice_then_success(tmp_path: Path, comfy: FakeComfyUI) -> None:
    comfy.prompt_failures = [Reply(status=500, body="boom"), Reply(status=500, body="boom")]
    job = run_job(engine_for(tmp_path, comfy))
    assert job.state is JobState.DONE and job.attempts == 3
    ids = {r.json()["prompt_id"] for r in comfy.server.requests_to("POST", "/prompt")}
    assert ids == {job.remote_id}  # one run, never a second prompt


def test_400_is_not_retried_and_says_why(tmp_path: Path, comfy: FakeComfyUI) -> None:
    job = run_job(engine_for(tmp_path, comfy, checkpoint="x.ckpt"))
    assert job.state is JobState.FAILED and job.error_code == "bad_request" and job.attempts == 1
    assert job.error_message is not None and "x.ckpt" in job.error_message
    assert len(comfy.server.requests_to("POST", "/prompt")) == 1


def test_safety_block_fails_as_blocked(tmp_path: Path, comfy: FakeComfyUI) -> None:
    comfy.behaviour.outcome = "safety"
    job = run_job(engine_for(tmp_path, comfy))
    assert job.state is JobState.FAILED and job.error_code == "safety_blocked"


def test_non_image_payload_is_no_image(tmp_path: Path, comfy: FakeComfyUI) -> None:
    comfy.behaviour.image = png_bytes()[:-30]
    job = run_job(engine_for(tmp_path, comfy))
    assert job.state is JobState.FAILED and job.error_code == "no_image"


def test_timeout(tmp_path: Path, comfy: FakeComfyUI) -> None:
    comfy.behaviour.outcome = "hang"
    job = run_job(engine_for(tmp_path, comfy, "timeout_s = 0.5\n"))
    assert job.state is JobState.FAILED and job.error_code == "timeout"
    assert comfy.interrupted_ids == [job.remote_id]  # the hung prompt does not hold the GPU


def test_cancel_mid_job_interrupts_the_prompt(tmp_path: Path, comfy: FakeComfyUI) -> None:
    comfy.behaviour.outcome = "hold"
    engine = engine_for(tmp_path, comfy)

    async def main() -> Job:
        await engine.start()
        stepped = asyncio.Event()
        engine.subscribe(lambda e: stepped.set() if e.job.message.startswith("step") else None)
        (job,) = engine.submit(request())
        await asyncio.wait_for(stepped.wait(), 10)
        await engine.cancel(job.id)
        (done,) = await engine.wait([job])
        await engine.aclose()
        return done

    job = asyncio.run(main())
    assert job.state is JobState.CANCELLED
    assert comfy.interrupted_ids == [job.remote_id] and comfy.global_interrupts == 0


CRASHING_RUN = """
import asyncio, sys
from imagen_tui.backends.engine import Engine
from imagen_tui.backends.models import GenerationRequest

async def main():
    engine = Engine.open(sys.argv[1])
    await engine.start()
    engine.submit(GenerationRequest(prompt="a red fox", backend="gpu", width=512, height=512,
                                    seed=11))
    await asyncio.sleep(120)

asyncio.run(main())
"""


def test_resume_after_the_process_is_killed(tmp_path: Path, comfy: FakeComfyUI) -> None:
    comfy.behaviour.outcome = "hold"
    config = config_file(tmp_path, comfy.server.url)
    child = subprocess.Popen([sys.executable, "-c", CRASHING_RUN, str(config)], cwd=ROOT)
    try:
        deadline = time.monotonic() + 30
        while not comfy.running or not comfy.frames.get(comfy.running.client_id):
            assert child.poll() is None, "the generating process died on its own"
            assert time.monotonic() < deadline, "the prompt never started running"
            time.sleep(0.02)
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
    prompt_id = comfy.server.requests_to("POST", "/prompt")[0].json()["prompt_id"]

    async def main() -> Job:
        engine = Engine.open(config)
        (resumed,) = await engine.start()  # settles orphans: resumes ours by its prompt id
        await asyncio.to_thread(comfy.release)
        (job,) = await engine.wait([resumed])
        await engine.aclose()
        return job

    job = asyncio.run(main())
    assert job.state is JobState.DONE and job.remote_id == prompt_id
    assert len(comfy.server.requests_to("POST", "/prompt")) == 1  # not paid for twice
    assert job.output_path is not None
    with Image.open(job.output_path) as saved, Image.open(io.BytesIO(png_bytes())) as served:
        assert saved.size == served.size and saved.getpixel((0, 0)) == served.getpixel((0, 0))
    sidecar = json.loads(Path(job.sidecar_path or "").read_text())
    assert sidecar["seed"] == 11
