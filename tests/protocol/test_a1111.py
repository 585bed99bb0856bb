"""The a1111 adapter through the real Engine against a fake A1111 server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import base64
import logging
import sqlite3
from pathlib import Path

import httpx
import pytest

from imagen_tui.backends.adapters.a1111 import A1111Backend
from imagen_tui.backends.errors import ConfigError, ErrorCode, ImagenError, RequestError
from imagen_tui.backends.events import EventKind, JobEvent
from imagen_tui.backends.models import Job, JobState
from tests.fakes.a1111 import FakeA1111, png
from tests.fakes.server import FakeServer, Reply, running

from .a1111_helpers import eventually, files_under, make_engine, request, run_jobs, sidecar


def config(url: str, extra: str = "") -> str:
    return f'[backends.sd]\ntype = "a1111"\nbase_url = "{url}"\npoll_s = 0.05\n{extra}'


@pytest.fixture
def a1111(fake_server: FakeServer) -> FakeA1111:
    return FakeA1111().install(fake_server)


def images_in(tmp_path: Path) -> list[Path]:
    return [p for p in files_under(tmp_path / "out") if p.suffix == ".png"]


def test_txt2img_sends_the_api_fields_and_keeps_seed_and_info(
    tmp_path: Path, fake_server: FakeServer, a1111: FakeA1111
) -> None:
    toml = config(fake_server.url, 'model = "sd15"\nsampler_name = "DPM++ 2M"\ncfg_scale = 5.5\n')

    async def main() -> list:
        async with httpx.AsyncClient() as http:
            engine = make_engine(tmp_path, toml, http)
            req = request("sd", negative="blurry", seed=1234, steps=4, width=128, height=64)
            return await run_jobs(engine, req)

    (job,) = asyncio.run(main())
    assert job.state is JobState.DONE, job.error_message
    assert len(fake_server.requests_to("GET", "/sdapi/v1/sd-models")) == 1
    (sent,) = fake_server.requests_to("POST", "/sdapi/v1/txt2img")
    body = sent.json()
    assert body["prompt"] == "a red fox" and body["negative_prompt"] == "blurry"
    assert (body["seed"], body["steps"], body["width"], body["height"]) == (1234, 4, 128, 64)
    assert body["sampler_name"] == "DPM++ 2M" and body["cfg_scale"] == 5.5
    assert body["override_settings"] == {"sd_model_checkpoint": "sd15"}
    assert body["override_settings_restore_afterwards"] is False  # keep it loaded for the next
    assert body["batch_size"] == 1 and body["n_iter"] == 1 and body["save_images"] is False
    assert body["force_task_id"].startswith(f"imagen-tui-{job.id}-")
    assert "denoising_strength" not in body and "init_images" not in body
    meta = sidecar(job)
    assert meta["seed"] == 1234 and meta["cost_usd"] == 0.0
    assert Path(job.output_path).read_bytes().startswith(b"\x89PNG")
    info = meta["provider"]["info"]
    assert info["seed"] == 1234 and info["sd_model_name"] == "sd15"
    assert meta["provider"]["mode"] == "txt2img"


def test_progress_and_live_previews_reach_subscribers(
    tmp_path: Path, fake_server: FakeServer, a1111: FakeA1111
) -> None:
    a1111.step_s = 0.03
    events: list[JobEvent] = []

    async def main() -> list:
        async with httpx.AsyncClient() as http:
            engine = make_engine(tmp_path, config(fake_server.url), http)
            return await run_jobs(engine, request("sd", steps=12), events)

    (job,) = asyncio.run(main())
    assert job.state is JobState.DONE
    steps = [e.job.message for e in events if e.kind is EventKind.PROGRESS]
    assert any(m.startswith("step ") and m.endswith("/12") for m in steps)
    fractions = [e.job.progress for e in events if e.kind is EventKind.PROGRESS]
    assert fractions == sorted(fractions) and 0 < fractions[0] < 1 and fractions[-1] == 1.0
    previews = [e.preview for e in events if e.kind is EventKind.PREVIEW]
    assert previews and all(p and p.startswith(b"\x89PNG") for p in previews)
    assert len(set(previews)) == len(previews)  # an unchanged preview is not sent twice
    polls = fake_server.requests_to("GET", "/sdapi/v1/progress")
    asked = [p.query["skip_current_image"] for p in polls]
    # polls while it runs ask for the image; the one after the answer (was it interrupted?) not
    assert asked == ["false"] * (len(asked) - 1) + ["true"] and len(asked) > 1


@pytest.mark.parametrize(
    ("faults", "attempts"),
    [
        ([Reply(status=429, json={"detail": "busy"}, headers={"Retry-After": "1"})], 2),
        ([Reply(status=500, json={"error": "RuntimeError", "detail": "CUDA"})] * 2, 3),
    ],
    ids=["429-retry-after", "500-twice"],
)
def test_retryable_failures_then_success(
    tmp_path: Path, fake_server: FakeServer, a1111: FakeA1111, faults: list, attempts: int
) -> None:
    a1111.faults = list(faults)
    events: list[JobEvent] = []

    async def main() -> list:
        async with httpx.AsyncClient() as http:
            engine = make_engine(tmp_path, config(fake_server.url), http)
            return await run_jobs(engine, request("sd", steps=2), events)

    (job,) = asyncio.run(main())
    assert job.state is JobState.DONE and job.attempts == attempts
    assert len(fake_server.requests_to("POST", "/sdapi/v1/txt2img")) == attempts
    retries = [e.job for e in events if e.kind is EventKind.RETRYING]
    assert len(retries) == attempts - 1
    if faults[0].status == 429:  # the wait honoured Retry-After
        assert retries[0].waiting_until - retries[0].updated_at >= 0.99
    assert len(images_in(tmp_path)) == 1


def test_unknown_sampler_is_a_clear_bad_request_never_retried(
    tmp_path: Path, fake_server: FakeServer, a1111: FakeA1111
) -> None:
    async def main() -> list:
        async with httpx.AsyncClient() as http:
            engine = make_engine(tmp_path, config(fake_server.url), http)
            req = request("sd", options={"sampler_name": "Eulr a"})
            return await run_jobs(engine, req)

    (job,) = asyncio.run(main())
    assert job.state is JobState.FAILED and job.error_code == "bad_request"
    assert "HTTP 404: Sampler not found" in (job.error_message or "")
    assert len(fake_server.requests_to("POST", "/sdapi/v1/txt2img")) == 1
    assert not images_in(tmp_path)


def test_timeout_fails_the_job_and_interrupts_the_server(
    tmp_path: Path, fake_server: FakeServer, a1111: FakeA1111
) -> None:
    async def main() -> tuple:
        async with httpx.AsyncClient() as http:
            engine = make_engine(tmp_path, config(fake_server.url), http)
            (job,) = await run_jobs(engine, request("sd", steps=500, options={"timeout_s": 0.4}))
            await eventually(lambda: a1111.interrupted_tasks, "an interrupt")
            return job, a1111.jobs[0].task_id

    job, task_id = asyncio.run(main())
    assert job.state is JobState.FAILED and job.error_code == "timeout"
    assert a1111.interrupted_tasks == [task_id]
    assert not images_in(tmp_path)


@pytest.mark.parametrize("fault", ["truncated", "not-image"])
def test_broken_image_is_no_image_and_writes_nothing(
    tmp_path: Path, fake_server: FakeServer, a1111: FakeA1111, fault: str
) -> None:
    a1111.faults = [fault]

    async def main() -> list:
        async with httpx.AsyncClient() as http:
            engine = make_engine(tmp_path, config(fake_server.url), http)
            return await run_jobs(engine, request("sd", steps=2))

    (job,) = asyncio.run(main())
    assert job.state is JobState.FAILED and job.error_code == "no_image"
    assert "/sdapi/v1/txt2img" in (job.error_message or "")
    assert len(fake_server.requests_to("POST", "/sdapi/v1/txt2img")) == 1
    assert not (tmp_path / "out").exists() or not files_under(tmp_path / "out")


def test_cancel_mid_job_interrupts_our_job(
    tmp_path: Path, fake_server: FakeServer, a1111: FakeA1111
) -> None:
    async def main() -> tuple:
        async with httpx.AsyncClient() as http:
            engine = make_engine(tmp_path, config(fake_server.url), http)
            await engine.start()
            (job,) = engine.submit(request("sd", steps=500))
            running_job = await eventually(
                lambda: a1111.current if a1111.current and a1111.current.steps_done >= 2 else None,
                "the job to sample",
            )
            assert await engine.cancel(job.id)
            (done,) = await engine.wait([job])
            await eventually(lambda: a1111.interrupted_tasks, "an interrupt")
            await eventually(lambda: a1111.current is None, "the server to stop")
            return done, running_job

    done, running_job = asyncio.run(main())
    assert done.state is JobState.CANCELLED
    assert a1111.interrupted_tasks == [running_job.task_id]
    assert running_job.interrupted and running_job.steps_done < 500
    assert len(fake_server.requests_to("POST", "/sdapi/v1/interrupt")) == 1
    assert not images_in(tmp_path)


def test_an_interrupt_from_the_web_ui_fails_the_job_without_keeping_the_unfinished_image(
    tmp_path: Path, fake_server: FakeServer, a1111: FakeA1111
) -> None:
    async def main() -> Job:
        async with httpx.AsyncClient() as http:
            engine = make_engine(tmp_path, config(fake_server.url), http)
            await engine.start()
            (job,) = engine.submit(request("sd", steps=500))
            await eventually(
                lambda: a1111.current and a1111.current.steps_done >= 2, "the job to sample"
            )
            await http.post(fake_server.url + "/sdapi/v1/interrupt")  # someone at the web UI
            (done,) = await engine.wait([job])
            return done

    done = asyncio.run(main())
    assert done.state is JobState.FAILED and done.error_code == "cancelled"
    assert "interrupted on the server" in (done.error_message or "")
    assert a1111.jobs[0].interrupted and a1111.jobs[0].steps_done < 500
    assert not images_in(tmp_path)


def test_cancel_while_queued_on_the_server_interrupts_it_when_it_starts(
    tmp_path: Path, fake_server: FakeServer, a1111: FakeA1111
) -> None:
    a1111.step_s = 0.01
    a1111.start_foreign_job(steps=30)

    async def main() -> object:
        async with httpx.AsyncClient() as http:
            engine = make_engine(tmp_path, config(fake_server.url), http)
            await engine.start()
            (job,) = engine.submit(request("sd", steps=500))
            await eventually(lambda: a1111.jobs, "our request to reach the server")
            assert a1111.current is not None and a1111.current.task_id == "task(webui-user)"
            assert await engine.cancel(job.id)
            (done,) = await engine.wait([job])
            await eventually(lambda: a1111.interrupted_tasks, "an interrupt")
            await eventually(lambda: a1111.current is None, "the server to stop")
            return done

    done = asyncio.run(main())
    ours = a1111.jobs[0]
    assert done.state is JobState.CANCELLED  # type: ignore[attr-defined]
    # the web UI's job was left alone; ours was stopped once it got the GPU
    assert a1111.interrupted_tasks == [ours.task_id]
    assert ours.interrupted and ours.steps_done < 500


def test_img2img_sends_the_reference_as_init_image(
    tmp_path: Path, fake_server: FakeServer, a1111: FakeA1111
) -> None:
    ref = tmp_path / "ref.png"
    ref.write_bytes(png(64, 64, 7))

    async def main() -> list:
        async with httpx.AsyncClient() as http:
            toml = config(fake_server.url, "denoising_strength = 0.4\nresize_mode = 1\n")
            engine = make_engine(tmp_path, toml, http)
            return await run_jobs(engine, request("sd", steps=2, references=(ref,)))

    (job,) = asyncio.run(main())
    assert job.state is JobState.DONE, job.error_message
    assert not fake_server.requests_to("POST", "/sdapi/v1/txt2img")
    (sent,) = fake_server.requests_to("POST", "/sdapi/v1/img2img")
    body = sent.json()
    assert base64.b64decode(body["init_images"][0]) == ref.read_bytes()
    assert body["denoising_strength"] == 0.4 and body["resize_mode"] == 1
    assert "enable_hr" not in body
    assert sidecar(job)["provider"]["mode"] == "img2img"


def test_unreachable_server_names_the_url(tmp_path: Path) -> None:
    with running() as gone:
        url = gone.url

    async def main() -> list:
        async with httpx.AsyncClient() as http:
            engine = make_engine(tmp_path, config(url), http, retries=1)
            return await run_jobs(engine, request("sd"))

    (job,) = asyncio.run(main())
    assert job.state is JobState.FAILED and job.error_code == "unavailable"
    assert f"{url}/sdapi/v1/txt2img" in (job.error_message or "")


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"width": 100}, "size", "multiples of 8; allowed near 100x64: 104x64"),
        ({"references": ("a.png", "b.png")}, "size", "takes one reference image"),
        ({"options": {"cfg_scale": 99}}, "options.cfg_scale", "less than or equal to 30"),
        ({"options": {"quality": "high"}}, "options.quality", "it accepts: "),
    ],
)
def test_bad_input_is_refused_before_anything_is_sent(
    tmp_path: Path, fake_server: FakeServer, a1111: FakeA1111, changes: dict, field: str, words: str
) -> None:
    if "references" in changes:
        from PIL import Image

        refs = tuple(tmp_path / n for n in changes["references"])
        for ref in refs:  # real images: only their number is wrong
            Image.new("RGB", (8, 8)).save(ref)
        changes = {"references": refs}

    async def main() -> None:
        async with httpx.AsyncClient() as http:
            engine = make_engine(tmp_path, config(fake_server.url), http)
            await engine.start()
            engine.submit(request("sd", **changes))

    with pytest.raises(RequestError) as info:
        asyncio.run(main())
    ((name, message),) = info.value.fields
    assert name == field and words in message
    assert fake_server.requests == []


def test_unknown_checkpoint_is_refused_naming_the_ones_the_server_has(
    tmp_path: Path, fake_server: FakeServer, a1111: FakeA1111
) -> None:
    async def main() -> list:
        async with httpx.AsyncClient() as http:
            engine = make_engine(tmp_path, config(fake_server.url, 'model = "sdxl"\n'), http)
            return await run_jobs(engine, request("sd"))

    (job,) = asyncio.run(main())
    assert job.state is JobState.FAILED and job.error_code == "bad_request"
    assert "checkpoint 'sdxl' is not on" in (job.error_message or "")
    assert "sd15.safetensors [0123abcd45]" in (job.error_message or "")
    assert not fake_server.requests_to("POST", "/sdapi/v1/txt2img")


def test_basic_auth_secret_never_reaches_files_logs_events_or_errors(
    tmp_path: Path, fake_server: FakeServer, a1111: FakeA1111, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "s3cret-pass-789"
    header = base64.b64encode(f"alice:{secret}".encode()).decode()
    a1111.auth = ("alice", secret)
    toml = config(fake_server.url, 'api_key_env = "SD_AUTH"\nmodel = "sd15"\n')
    events: list[JobEvent] = []
    caplog.set_level(logging.DEBUG)

    async def main(env: dict[str, str], where: Path) -> list:
        async with httpx.AsyncClient() as http:
            engine = make_engine(where, toml, http, env=env, retries=1)
            return await run_jobs(engine, request("sd", steps=3), events)

    (ok,) = asyncio.run(main({"SD_AUTH": f"alice:{secret}"}, tmp_path / "good"))
    (bad,) = asyncio.run(main({"SD_AUTH": "alice:wrong-pass-456"}, tmp_path / "bad"))
    assert ok.state is JobState.DONE, ok.error_message
    assert bad.state is JobState.FAILED and bad.error_code == "auth_failed"
    assert all(
        r.headers.get("Authorization", "").startswith("Basic ") for r in fake_server.requests
    )
    texts = [caplog.text, bad.error_message or ""] + [e.job.message for e in events]
    texts += [e.job.error_message or "" for e in events]
    for text in texts:
        assert secret not in text and header not in text and "wrong-pass-456" not in text
    stored = files_under(tmp_path)
    assert any(p.suffix == ".png" for p in stored) and any(p.name == "jobs.sqlite3" for p in stored)
    for path in stored:
        data = path.read_bytes()
        assert secret.encode() not in data and header.encode() not in data, path
        assert b"wrong-pass-456" not in data, path
    for db in (p for p in stored if p.suffix == ".sqlite3"):
        with sqlite3.connect(db) as conn:
            dump = "\n".join(conn.iterdump())
        assert secret not in dump and "wrong-pass-456" not in dump


def test_a_secret_without_a_colon_is_reported_by_readiness_without_quoting_it(
    tmp_path: Path,
) -> None:
    options = A1111Backend.parse_options({"api_key_env": "SD_AUTH"})
    backend = A1111Backend("sd", options, env={"SD_AUTH": "justapassword"})
    problem = backend.readiness()
    assert problem is not None and "user:password" in problem and "justapassword" not in problem
    with pytest.raises(ConfigError) as info:  # a malformed credential is a config problem
        backend.require_ready()
    assert "justapassword" not in info.value.message


def test_queue_depth_and_probe_ask_the_server(fake_server: FakeServer, a1111: FakeA1111) -> None:
    a1111.step_s = 0.05

    async def main() -> tuple:
        ok = A1111Backend("sd", A1111Backend.parse_options({"base_url": fake_server.url}))
        missing = A1111Backend(
            "sd", A1111Backend.parse_options({"base_url": fake_server.url, "model": "sdxl"})
        )
        async with httpx.AsyncClient() as http:
            idle = await ok.queue_depth(http)
            a1111.start_foreign_job(steps=40)
            busy = await ok.queue_depth(http)
            return idle, busy, await ok.probe(http), await missing.probe(http)

    idle, busy, fine, problem = asyncio.run(main())
    assert (idle, busy, fine) == (0, 1, None)
    assert problem is not None and "checkpoint 'sdxl' is not on" in problem


def test_queue_depth_of_a_down_server_is_unavailable_naming_the_url() -> None:
    with running() as gone:
        url = gone.url
    backend = A1111Backend("sd", A1111Backend.parse_options({"base_url": url}))

    async def main() -> tuple:
        async with httpx.AsyncClient() as http:
            problem = await backend.probe(http)
            with pytest.raises(ImagenError) as info:
                await backend.queue_depth(http)
            return problem, info.value

    problem, error = asyncio.run(main())
    assert error.code is ErrorCode.UNAVAILABLE and f"{url}/sdapi/v1/progress" in error.detail
    assert problem is not None and f"{url}/sdapi/v1/sd-models" in problem


def test_once_cli_keeps_the_basic_auth_secret_out_of_output_and_files(
    fake_server: FakeServer, a1111: FakeA1111, isolated_env: dict[str, Path]
) -> None:
    from tests.cli.helpers import cli, one_line

    secret = "s3cret-pass-789"
    a1111.auth = ("alice", secret)
    cfg = isolated_env["config"] / "imagen-tui" / "config.toml"
    cfg.parent.mkdir(parents=True)
    cfg.write_text(config(fake_server.url, 'api_key_env = "SD_AUTH"\n'))
    args = ("--once", "fox", "--backend", "sd", "--size", "64x64", "--steps", "2")
    ok = cli(*args, "--json", env={"SD_AUTH": f"alice:{secret}"})
    bad = cli(*args, env={"SD_AUTH": "alice:wrong-pass-456"})
    assert ok.returncode == 0, ok.stderr
    assert bad.returncode == 1 and "auth_failed" in one_line(bad.stderr)
    for text in (ok.stdout, ok.stderr, bad.stdout, bad.stderr):
        assert secret not in text and "wrong-pass-456" not in text
    stored = [p for root in isolated_env.values() for p in files_under(root)]
    assert any(p.suffix == ".png" for p in stored)
    for path in stored:
        data = path.read_bytes()
        assert secret.encode() not in data and b"wrong-pass-456" not in data, path
