"""The `fal` adapter through the real Engine against a fake fal queue on 127.0.0.1."""

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

from imagen_tui.backends.adapters.fal import FalBackend, FalOptions
from imagen_tui.backends.base import JobContext
from imagen_tui.backends.engine import Engine
from imagen_tui.backends.errors import ErrorCode, ImagenError, RequestError
from imagen_tui.backends.events import EventKind
from imagen_tui.backends.models import GenerationRequest, Job, JobState
from tests.fakes.fal import APP, MODEL, FakeFal
from tests.fakes.images import image_bytes
from tests.fakes.server import FakeServer, Reply, running

from .cloud_engine import CloudRig, until

SUBMIT_PATH = f"/{MODEL}"


@pytest.fixture
def fake(fake_server: FakeServer) -> FakeFal:
    return FakeFal(fake_server)


@pytest.fixture
def rig(tmp_path: Path, fake: FakeFal) -> CloudRig:
    options = {"base_url": fake.base_url, "poll_s": 0.01}
    return CloudRig(tmp_path, "fal", options, env={"FAL_KEY": fake.key})


def paths_of(fake: FakeFal) -> list[str]:
    return [f"{r.method} {r.path}" for r in fake.server.requests]


def test_success_speaks_the_queue_protocol_and_saves_image_cost_and_usage(
    rig: CloudRig, fake: FakeFal
) -> None:
    job = rig.run(rig.request(seed=7, steps=3, width=1024, height=576))
    assert job.state == JobState.DONE, job.error_message
    (submit,) = fake.submits()
    assert submit.headers["Authorization"] == f"Key {fake.key}"
    assert submit.json() == {
        "prompt": "a red fox",
        "image_size": "landscape_16_9",
        "num_images": 1,
        "seed": 7,
        "num_inference_steps": 3,
    }
    (rid,) = fake.requests_made
    assert job.remote_id == rid
    root = f"/{APP}/requests/{rid}"  # the subpath (/schnell) is dropped, as fal's URLs do
    calls = paths_of(fake)
    assert calls[0] == f"POST {SUBMIT_PATH}" and calls[-2:] == [f"GET {root}", "GET /files/out.jpg"]
    statuses = fake.server.requests_to("GET", f"{root}/status")
    assert len(statuses) == fake.steps and statuses[0].query == {"logs": "1"}
    assert all(s.headers["Authorization"] == f"Key {fake.key}" for s in statuses)
    assert "Authorization" not in fake.server.requests_to("GET", "/files/out.jpg")[0].headers
    assert Path(job.output_path or "").read_bytes() == fake.file_body
    meta = json.loads(Path(job.sidecar_path or "").read_text())
    assert meta["cost_usd"] == round(0.003 * 1024 * 576 / 1e6, 6)
    assert meta["seed"] == 7 and meta["mime_type"] == "image/jpeg"
    assert meta["provider"] == {
        "request_id": rid,
        "timings": {"inference": 0.4},
        "usage": {"inference_time": 0.42},
    }


def test_custom_sizes_go_as_width_and_height(rig: CloudRig, fake: FakeFal) -> None:
    job = rig.run(rig.request(width=832, height=1216))
    assert job.state == JobState.DONE
    assert fake.submits()[0].json()["image_size"] == {"width": 832, "height": 1216}


def test_image_size_option_sets_the_preset_and_the_size(rig: CloudRig, fake: FakeFal) -> None:
    rig.options["image_size"] = "portrait_4_3"
    job = rig.run(rig.request())
    assert job.state == JobState.DONE
    assert fake.submits()[0].json()["image_size"] == "portrait_4_3"
    assert (job.request.width, job.request.height) == (768, 1024)


def test_sync_mode_data_uri_is_decoded(rig: CloudRig, fake: FakeFal) -> None:
    rig.options["sync_mode"] = True
    job = rig.run(rig.request())
    assert job.state == JobState.DONE
    assert fake.submits()[0].json()["sync_mode"] is True
    assert Path(job.output_path or "").read_bytes() == fake.file_body
    assert not fake.server.requests_to("GET", "/files/out.jpg")


def test_progress_shows_queue_position_then_steps(rig: CloudRig, fake: FakeFal) -> None:
    fake.steps = 4
    job = rig.run(rig.request())
    assert job.state == JobState.DONE
    progress = rig.progress()
    assert progress[0] == (0.0, "queued (position 2)")
    assert (0.5, "step 2/4") in progress and (0.75, "step 3/4") in progress
    assert progress[-1] == (1.0, "downloading")


def test_rate_limit_with_retry_after_then_success(rig: CloudRig, fake: FakeFal) -> None:
    fake.submit_errors = [
        Reply(status=429, json={"detail": "Rate limit exceeded"}, headers={"Retry-After": "0.05"})
    ]
    job = rig.run(rig.request())
    assert job.state == JobState.DONE and len(fake.submits()) == 2
    retrying = [e.job.message for e in rig.events if e.kind == EventKind.RETRYING]
    assert len(retrying) == 1 and retrying[0].startswith("rate_limited")


def test_rate_limit_error_carries_the_retry_after(fake: FakeFal) -> None:
    fake.submit_errors = [Reply(status=429, json={"detail": "slow"}, headers={"Retry-After": "9"})]
    opts = FalOptions(base_url=fake.base_url)
    backend = FalBackend("f", opts, {"FAL_KEY": fake.key})

    async def attempt() -> None:
        async with httpx.AsyncClient() as http:
            ctx = JobContext("job1", opts, http=lambda: http)
            await backend.generate(GenerationRequest(prompt="a red fox", seed=1), ctx)

    with pytest.raises(ImagenError) as info:
        asyncio.run(attempt())
    assert info.value.code == ErrorCode.RATE_LIMITED and info.value.retry_after == 9.0


def test_server_errors_twice_then_success(rig: CloudRig, fake: FakeFal) -> None:
    fake.submit_errors = [
        Reply(status=500, body="<html>nginx</html>", content_type="text/html")
    ] * 2
    job = rig.run(rig.request())
    assert job.state == JobState.DONE and len(fake.submits()) == 3 and job.attempts == 3


def test_a_failed_result_fetch_is_retried_without_a_new_submit(
    rig: CloudRig, fake: FakeFal
) -> None:
    calls = {"n": 0}
    original = fake._result

    async def flaky(request):  # the first result fetch fails, the next succeeds
        calls["n"] += 1
        if calls["n"] == 1:
            return await Reply(status=503, json={"detail": "busy"}).send(request)
        return await original(request)

    fake._result = flaky  # type: ignore[method-assign]
    job = rig.run(rig.request())
    assert job.state == JobState.DONE, job.error_message
    assert len(fake.submits()) == 1 and job.attempts == 2


@pytest.mark.parametrize("status", [400, 422])
def test_bad_request_is_not_retried_and_says_why(rig: CloudRig, fake: FakeFal, status: int) -> None:
    item = {"loc": ["body", "num_inference_steps"], "msg": "must be <= 12", "type": "less_equal"}
    fake.submit_errors = [Reply(status=status, json={"detail": [item]})]
    job = rig.run(rig.request(steps=20))
    assert job.state == JobState.FAILED and job.error_code == "bad_request"
    assert "body.num_inference_steps: must be <= 12" in (job.error_message or "")
    assert len(fake.submits()) == 1


def test_nsfw_flag_is_a_safety_block(rig: CloudRig, fake: FakeFal) -> None:
    fake.nsfw = True
    job = rig.run(rig.request())
    assert job.state == JobState.FAILED and job.error_code == "safety_blocked"
    assert rig.files() == [] and not fake.server.requests_to("GET", "/files/out.jpg")


def test_content_policy_violation_is_a_safety_block(rig: CloudRig, fake: FakeFal) -> None:
    item = {"loc": ["body", "prompt"], "msg": "flagged by a content checker",
            "type": "content_policy_violation"}  # fmt: skip
    fake.result_error = Reply(status=422, json={"detail": [item]})
    job = rig.run(rig.request())
    assert job.state == JobState.FAILED and job.error_code == "safety_blocked"
    assert "flagged by a content checker" in (job.error_message or "")
    assert len(fake.submits()) == 1


def test_a_failed_request_reports_its_error(rig: CloudRig, fake: FakeFal) -> None:
    fake.status_errors = [{"error": "Model crashed", "error_type": "runner_error"}]
    job = rig.run(rig.request())
    assert job.state == JobState.FAILED and job.error_code == "no_image"
    assert "Model crashed" in (job.error_message or "")
    assert len(fake.submits()) == 1


def test_a_request_lost_by_fal_infrastructure_is_submitted_again(
    rig: CloudRig, fake: FakeFal
) -> None:
    fake.status_errors = [{"error": "Runner lost", "error_type": "runner_disconnected"}]
    job = rig.run(rig.request())
    assert job.state == JobState.DONE, job.error_message
    first, second = fake.requests_made
    assert len(fake.submits()) == 2 and job.remote_id == second


def test_timeout_fails_the_job(rig: CloudRig, fake: FakeFal) -> None:
    fake.held = True
    rig.options["timeout_s"] = 0.5
    job = rig.run(rig.request())
    assert job.state == JobState.FAILED and job.error_code == "timeout"
    assert rig.files() == []


@pytest.mark.parametrize(
    "body",
    [b'{"error": "not an image"}', image_bytes(64, 48, "JPEG")[:-30]],
    ids=["json", "truncated"],
)
def test_non_image_or_truncated_output_is_no_image_and_writes_nothing(
    rig: CloudRig, fake: FakeFal, body: bytes
) -> None:
    fake.file_body = body
    job = rig.run(rig.request())
    assert job.state == JobState.FAILED and job.error_code == "no_image"
    assert rig.files() == []


def test_cancel_mid_job_cancels_the_request(rig: CloudRig, fake: FakeFal) -> None:
    fake.held = True

    async def cancel_when_running(engine: Engine, job: Job) -> None:
        await until(lambda: any(s["polls"] for s in fake.requests_made.values()), "a poll")
        assert await engine.cancel(job.id)

    job = rig.run(rig.request(), during=cancel_when_running)
    assert job.state == JobState.CANCELLED
    (rid,) = fake.requests_made
    assert fake.cancelled == [rid]
    (call,) = fake.server.requests_to("PUT", f"/{APP}/requests/{rid}/cancel")
    assert call.headers["Authorization"] == f"Key {fake.key}"


def test_unreachable_server_names_the_url(tmp_path: Path) -> None:
    with running() as server:
        url = server.url
    rig = CloudRig(tmp_path, "fal", {"base_url": url}, env={"FAL_KEY": "k123"})
    job = rig.run(rig.request())
    assert job.state == JobState.FAILED and job.error_code == "unavailable"
    assert f"{url}/{MODEL}" in (job.error_message or "")


def test_unsupported_input_is_refused_before_anything_is_sent(rig: CloudRig, fake: FakeFal) -> None:
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
    assert "takes no negative prompt" in negative.message
    option = asyncio.run(submit(options={"image_size": "huge"}))
    assert "image_size" in option.message and "square_hd" in option.message
    assert fake.server.requests == []


def test_missing_key_names_the_variable(tmp_path: Path, fake: FakeFal) -> None:
    rig = CloudRig(tmp_path, "fal", {"base_url": fake.base_url}, env={})

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
    assert error.code == ErrorCode.AUTH_MISSING and "FAL_KEY" in error.message
    assert fake.server.requests == []


def test_resume_after_kill_watches_the_same_request(
    tmp_path: Path, fake: FakeFal, isolated_env: dict[str, Path]
) -> None:
    fake.held = True
    out = tmp_path / "out"
    cfg = tmp_path / "config.toml"
    cfg.write_text(
        f'[output]\ndir = "{out}"\n'
        f'[backends.cloud]\ntype = "fal"\nbase_url = "{fake.base_url}"\npoll_s = 0.02\n'
    )
    env = {**os.environ, "FAL_KEY": fake.key}
    proc = subprocess.Popen(
        [sys.executable, "-m", "imagen_tui.tui.cli", "--once", "a red fox", "--backend",
         "cloud", "--config", str(cfg), "--seed", "5", "--no-preview"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        asyncio.run(until(lambda: any(s["polls"] for s in fake.requests_made.values()), "a poll"))
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=20)
    assert fake.cancelled == []
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
    (rid,) = fake.requests_made
    assert job.state == JobState.DONE, job.error_message
    assert job.remote_id == rid and len(fake.submits()) == 1
    assert Path(job.output_path or "").read_bytes() == fake.file_body
    assert json.loads(Path(job.sidecar_path or "").read_text())["seed"] == 5
