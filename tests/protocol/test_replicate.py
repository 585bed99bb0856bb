"""The `replicate` adapter through the real Engine against a fake Replicate on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from imagen_tui.backends.adapters.replicate import ReplicateBackend, ReplicateOptions
from imagen_tui.backends.base import JobContext
from imagen_tui.backends.engine import Engine
from imagen_tui.backends.errors import ErrorCode, ImagenError, RequestError
from imagen_tui.backends.events import EventKind
from imagen_tui.backends.models import GenerationRequest, Job, JobState
from tests.fakes.images import image_bytes
from tests.fakes.replicate import MODEL, FakeReplicate, problem
from tests.fakes.server import FakeServer, Reply, running

from .cloud_engine import CloudRig, until

CREATE_PATH = f"/v1/models/{MODEL}/predictions"


@pytest.fixture
def fake(fake_server: FakeServer) -> FakeReplicate:
    return FakeReplicate(fake_server)


@pytest.fixture
def rig(tmp_path: Path, fake: FakeReplicate) -> CloudRig:
    options = {"base_url": fake.base_url, "poll_s": 0.01}
    return CloudRig(tmp_path, "replicate", options, env={"REPLICATE_API_TOKEN": fake.key})


def sidecar_of(job: Job) -> dict:
    assert job.sidecar_path
    return json.loads(Path(job.sidecar_path).read_text())


def test_success_speaks_the_protocol_and_saves_image_cost_and_usage(
    rig: CloudRig, fake: FakeReplicate
) -> None:
    job = rig.run(rig.request(seed=7, steps=3, width=1920, height=1080))
    assert job.state == JobState.DONE, job.error_message
    (create,) = fake.creates()
    assert create.headers["Authorization"] == f"Bearer {fake.key}"
    assert create.headers["Prefer"] == "wait=5"
    assert create.headers["Cancel-After"] == "300s"
    assert create.json() == {
        "input": {
            "prompt": "a red fox",
            "aspect_ratio": "16:9",
            "seed": 7,
            "num_inference_steps": 3,
        }
    }
    assert (job.request.width, job.request.height) == (1344, 768)
    (pid,) = fake.predictions
    assert job.remote_id == pid
    assert Path(job.output_path or "").read_bytes() == fake.file_body
    meta = sidecar_of(job)
    assert meta["cost_usd"] == 0.003 and meta["seed"] == 7 and meta["model"] == MODEL
    assert meta["mime_type"] == "image/webp" and (meta["width"], meta["height"]) == (64, 48)
    assert meta["provider"] == {
        "prediction_id": pid,
        "version": "bf53bdb9",
        "usage": {"predict_time": 0.61},
    }
    polls = fake.server.requests_to("GET", f"/v1/predictions/{pid}")
    assert polls and all(p.headers["Authorization"] == f"Bearer {fake.key}" for p in polls)
    downloads = fake.server.requests_to("GET", "/files/out.webp")
    assert downloads and "Authorization" not in downloads[0].headers  # the key stays home


def test_progress_comes_from_status_and_tqdm_logs(rig: CloudRig, fake: FakeReplicate) -> None:
    fake.steps = 4
    job = rig.run(rig.request())
    assert job.state == JobState.DONE
    progress = rig.progress()
    assert progress[0] == (0.0, "starting")
    assert (0.25, "step 1/4") in progress and (0.75, "step 3/4") in progress
    assert progress[-1] == (1.0, "downloading")
    fractions = [f for f, _ in progress]
    assert fractions == sorted(fractions)


def test_a_prediction_finished_within_prefer_wait_is_not_polled(
    rig: CloudRig, fake: FakeReplicate
) -> None:
    fake.done_on_create, fake.output = True, "string"
    job = rig.run(rig.request())
    assert job.state == JobState.DONE
    assert [r.path for r in fake.server.requests] == [CREATE_PATH, "/files/out.webp"]


def test_data_uri_output_is_decoded(rig: CloudRig, fake: FakeReplicate) -> None:
    fake.output = "data"
    job = rig.run(rig.request())
    assert job.state == JobState.DONE
    assert Path(job.output_path or "").read_bytes() == fake.file_body
    assert not fake.server.requests_to("GET", "/files/out.webp")


def test_rate_limit_with_retry_after_then_success(rig: CloudRig, fake: FakeReplicate) -> None:
    throttled = problem(
        429, "Too Many Requests", "Request was throttled. Your rate limit resets in ~1s."
    )
    throttled.headers["Retry-After"] = "0.05"
    fake.create_errors = [throttled]
    job = rig.run(rig.request())
    assert job.state == JobState.DONE
    assert len(fake.creates()) == 2
    retrying = [e.job.message for e in rig.events if e.kind == EventKind.RETRYING]
    assert len(retrying) == 1 and retrying[0].startswith("rate_limited")


def test_rate_limit_error_carries_the_retry_after(fake: FakeReplicate) -> None:
    throttled = problem(429, "Too Many Requests", "Request was throttled.")
    throttled.headers["Retry-After"] = "7"
    fake.create_errors = [throttled]
    opts = ReplicateOptions(base_url=fake.base_url)
    backend = ReplicateBackend("r", opts, {"REPLICATE_API_TOKEN": fake.key})

    async def attempt() -> None:
        async with httpx.AsyncClient() as http:
            ctx = JobContext("job1", opts, http=lambda: http)
            await backend.generate(GenerationRequest(prompt="a red fox", seed=1), ctx)

    with pytest.raises(ImagenError) as info:
        asyncio.run(attempt())
    assert info.value.code == ErrorCode.RATE_LIMITED and info.value.retry_after == 7.0
    assert "throttled" in info.value.detail


def test_server_errors_twice_then_success(rig: CloudRig, fake: FakeReplicate) -> None:
    fake.create_errors = [problem(500, "Internal Server Error", "boom")] * 2
    job = rig.run(rig.request())
    assert job.state == JobState.DONE
    assert len(fake.creates()) == 3 and job.attempts == 3


def test_a_failed_poll_is_retried_by_polling_not_by_paying_again(
    rig: CloudRig, fake: FakeReplicate
) -> None:
    fake.poll_errors = [Reply(status=503, body="upstream connect error"), Reply(status=502)]
    job = rig.run(rig.request())
    assert job.state == JobState.DONE
    assert len(fake.creates()) == 1 and job.attempts == 3


@pytest.mark.parametrize("status", [400, 422])
def test_bad_request_is_not_retried_and_says_why(
    rig: CloudRig, fake: FakeReplicate, status: int
) -> None:
    fake.create_errors = [
        problem(status, "Input validation failed", "input.num_inference_steps: must be <= 4")
    ]
    job = rig.run(rig.request(steps=9))
    assert job.state == JobState.FAILED and job.error_code == "bad_request"
    assert "num_inference_steps: must be <= 4" in (job.error_message or "")
    assert len(fake.creates()) == 1


def test_nsfw_failure_is_a_safety_block(rig: CloudRig, fake: FakeReplicate) -> None:
    fake.final = "failed"
    fake.error = "NSFW content detected. Try running it again, or try a different prompt."
    job = rig.run(rig.request())
    assert job.state == JobState.FAILED and job.error_code == "safety_blocked"
    assert "NSFW content detected" in (job.error_message or "")
    assert rig.files() == [] and len(fake.creates()) == 1


def test_other_failures_are_final_with_the_model_error(rig: CloudRig, fake: FakeReplicate) -> None:
    fake.final, fake.error = "failed", "CUDA out of memory"
    job = rig.run(rig.request())
    assert job.state == JobState.FAILED and job.error_code == "no_image"
    assert "CUDA out of memory" in (job.error_message or "")
    assert len(fake.creates()) == 1


def test_aborted_is_final(rig: CloudRig, fake: FakeReplicate) -> None:
    fake.done_on_create, fake.final = True, "aborted"
    job = rig.run(rig.request())
    assert job.state == JobState.FAILED and job.error_code == "timeout"
    assert "deadline" in (job.error_message or "")
    assert [r.path for r in fake.server.requests] == [CREATE_PATH]


def test_timeout_fails_the_job_and_sets_a_server_deadline(
    rig: CloudRig, fake: FakeReplicate
) -> None:
    fake.held = True
    rig.options["timeout_s"] = 0.5
    job = rig.run(rig.request())
    assert job.state == JobState.FAILED and job.error_code == "timeout"
    assert fake.creates()[0].headers["Cancel-After"] == "5s"  # Replicate stops it server-side
    assert rig.files() == []


@pytest.mark.parametrize(
    "body",
    [b"<html><body>502 Bad Gateway</body></html>", image_bytes(64, 48, "WEBP")[:-40]],
    ids=["html", "truncated"],
)
def test_non_image_or_truncated_output_is_no_image_and_writes_nothing(
    rig: CloudRig, fake: FakeReplicate, body: bytes
) -> None:
    fake.file_body = body
    job = rig.run(rig.request())
    assert job.state == JobState.FAILED and job.error_code == "no_image"
    assert "/files/out.webp" in (job.error_message or "")
    assert rig.files() == []


def test_cancel_mid_job_cancels_the_prediction(rig: CloudRig, fake: FakeReplicate) -> None:
    fake.held = True

    async def cancel_when_running(engine: Engine, job: Job) -> None:
        await until(lambda: any(s["polls"] for s in fake.predictions.values()), "a poll")
        assert await engine.cancel(job.id)

    job = rig.run(rig.request(), during=cancel_when_running)
    assert job.state == JobState.CANCELLED
    (pid,) = fake.predictions
    assert fake.cancelled == [pid]
    (call,) = fake.server.requests_to("POST", f"/v1/predictions/{pid}/cancel")
    assert call.headers["Authorization"] == f"Bearer {fake.key}"


def test_unreachable_server_names_the_url(tmp_path: Path) -> None:
    with running() as server:
        url = server.url + "/v1"
    rig = CloudRig(tmp_path, "replicate", {"base_url": url}, env={"REPLICATE_API_TOKEN": "k123"})
    job = rig.run(rig.request())
    assert job.state == JobState.FAILED and job.error_code == "unavailable"
    assert f"{url}/models/{MODEL}/predictions" in (job.error_message or "")


def test_unsupported_input_is_refused_before_anything_is_sent(
    rig: CloudRig, fake: FakeReplicate
) -> None:
    async def submit(**kw) -> RequestError:
        async with httpx.AsyncClient() as http:
            engine = rig.engine(http)
            await engine.start()
            try:
                with pytest.raises(RequestError) as info:
                    engine.submit(rig.request(**kw))
                return info.value
            finally:
                await engine.aclose()

    negative = asyncio.run(submit(negative="blurry"))
    assert "negative" in negative.message and "takes no negative prompt" in negative.message
    size = asyncio.run(submit(width=4096, height=64))
    assert "4096x64" in size.message and "allowed: 1:1, 16:9, 21:9" in size.message
    refs = asyncio.run(submit(references=(Path("ref.png"),)))
    assert "takes no reference images" in refs.message
    assert fake.server.requests == []


def test_missing_token_names_the_variable(tmp_path: Path, fake: FakeReplicate) -> None:
    rig = CloudRig(tmp_path, "replicate", {"base_url": fake.base_url}, env={})

    async def submit() -> ImagenError:
        async with httpx.AsyncClient() as http:
            engine = rig.engine(http)
            await engine.start()
            try:
                with pytest.raises(ImagenError) as info:
                    engine.submit(rig.request())
                return info.value
            finally:
                await engine.aclose()

    error = asyncio.run(submit())
    assert error.code == ErrorCode.AUTH_MISSING and "REPLICATE_API_TOKEN" in error.message
    assert fake.server.requests == []


# --- resume after the process is killed ------------------------------------------------------


def test_resume_after_kill_polls_the_same_prediction(
    tmp_path: Path, fake: FakeReplicate, isolated_env: dict[str, Path]
) -> None:
    fake.held = True
    out = tmp_path / "out"
    cfg = tmp_path / "config.toml"
    cfg.write_text(
        f'[output]\ndir = "{out}"\n'
        f'[backends.cloud]\ntype = "replicate"\nbase_url = "{fake.base_url}"\npoll_s = 0.02\n'
    )
    env = {**os.environ, "REPLICATE_API_TOKEN": fake.key}
    proc = subprocess.Popen(
        [sys.executable, "-m", "imagen_tui.tui.cli", "--once", "a red fox", "--backend",
         "cloud", "--config", str(cfg), "--seed", "5", "--no-preview"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        asyncio.run(until(lambda: any(s["polls"] for s in fake.predictions.values()), "a poll"))
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=20)
    assert fake.cancelled == []  # killed: it had no chance to cancel
    fake.held = False

    async def restart() -> list[Job]:
        async with httpx.AsyncClient(timeout=10.0) as http:
            engine = Engine.open(cfg, env=env, http=http)
            resumed = await engine.start()
            try:
                return await engine.wait(resumed)
            finally:
                await engine.aclose()

    (job,) = asyncio.run(restart())
    (pid,) = fake.predictions
    assert job.state == JobState.DONE, job.error_message
    assert job.remote_id == pid and len(fake.creates()) == 1
    assert Path(job.output_path or "").read_bytes() == fake.file_body
    assert json.loads(Path(job.sidecar_path or "").read_text())["seed"] == 5


def test_a_retired_upstream_model_is_warned_about_not_refused(
    rig: CloudRig, fake: FakeReplicate
) -> None:
    rig.options["model"] = "google/imagen-4"

    async def prepare() -> tuple[bool, tuple[str, ...]]:
        async with httpx.AsyncClient() as http:
            engine = rig.engine(http)
            prepared = engine.prepare(rig.request())
            await engine.aclose()
            return prepared.ok, prepared.warnings

    ok, warnings = asyncio.run(prepare())
    assert ok and len(warnings) == 1 and "Imagen" in warnings[0]
    assert fake.server.requests == []
