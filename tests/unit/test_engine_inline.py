"""One quick local job made without an event loop (`Engine.run_inline`): the same lifecycle,
events, job log and files as a scheduled job, and interrupts that never leave half an image."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from pathlib import Path
from typing import ClassVar

import pytest
from PIL import Image

from imagen_tui.backends import (
    Backend,
    BackendOptions,
    Capability,
    Engine,
    EventKind,
    GenerationRequest,
    ImageResult,
    JobContext,
    JobEvent,
    JobState,
    registry,
)
from imagen_tui.backends.config import load_config
from imagen_tui.backends.errors import ErrorCode, ImagenError, ImagenTuiError, StoreError
from imagen_tui.backends.models import Job
from imagen_tui.backends.store.history import HistoryStore
from imagen_tui.backends.store.joblog import JobLog
from imagen_tui.backends.store.writing import SavedImage

from .test_engine_contract import png


class Quick(Backend):
    """Inline when asked to be; each test sets what generate_inline does."""

    type_name = "quick"
    capabilities = frozenset({Capability.TXT2IMG, Capability.SEED})
    inline: ClassVar[bool] = True
    action: ClassVar[str] = "image"

    def runs_inline(self, request: GenerationRequest, options: BackendOptions) -> bool:
        return type(self).inline

    async def generate(self, request: GenerationRequest, ctx: JobContext) -> ImageResult:
        return ImageResult(data=png(), mime_type="image/png")

    def generate_inline(self, request: GenerationRequest, ctx: JobContext) -> ImageResult:
        ctx.progress(0.5, "half way, key sk-secret-123")
        action = type(self).action
        if action == "fail":
            raise ImagenError(ErrorCode.BAD_REQUEST, "refused sk-secret-123")
        if action == "bug":
            raise ZeroDivisionError("adapter bug")
        if action == "interrupt":
            os.kill(os.getpid(), signal.SIGINT)
        if action == "terminate":
            os.kill(os.getpid(), signal.SIGTERM)
        return ImageResult(data=png(24, 16), mime_type="image/jpeg", seed=request.seed)

    def secrets(self) -> list[str]:
        return ["sk-secret-123"]


class Resumable(Quick):
    type_name = "resumable"
    capabilities = frozenset({Capability.TXT2IMG, Capability.SEED, Capability.RESUME})


class InterruptedSave(HistoryStore):
    """A store whose save is interrupted (SIGINT) half way, as a Ctrl-C at the worst moment."""

    def save(self, job: Job, result: ImageResult, backend_type: str) -> SavedImage:
        os.kill(os.getpid(), signal.SIGINT)  # held until the files have landed
        return super().save(job, result, backend_type)


class FullDisk(HistoryStore):
    def save(self, job: Job, result: ImageResult, backend_type: str) -> SavedImage:
        raise StoreError(f"no space left on the device holding {self.output_dir}", self.output_dir)


@pytest.fixture(autouse=True)
def quick_types():
    registry.register("quick", Quick)
    registry.register("resumable", Resumable)
    Quick.inline, Quick.action = True, "image"
    yield
    registry.unregister("quick")
    registry.unregister("resumable")


def engine_for(tmp_path: Path, extra: str = "", store: type[HistoryStore] = HistoryStore) -> Engine:
    tmp_path.mkdir(parents=True, exist_ok=True)
    cfg = tmp_path / "config.toml"
    cfg.write_text(
        'default_backend = "q"\n[backends.q]\ntype = "quick"\n'
        '[backends.m]\ntype = "mock"\n[backends.slow]\ntype = "mock"\nlatency_s = 0.1\n'
        '[backends.r]\ntype = "resumable"\n' + extra
    )
    history = store(tmp_path / "out", "{slug}-{seed}.{ext}", index_path=tmp_path / "i.db")
    return Engine(load_config(cfg), history, job_log=JobLog(tmp_path / "jobs.sqlite3"))


def events_of(engine: Engine) -> list[JobEvent]:
    seen: list[JobEvent] = []
    engine.subscribe(seen.append)
    return seen


def test_an_inline_mock_image_is_the_scheduled_one_pixel_for_pixel(tmp_path: Path) -> None:
    request = GenerationRequest(prompt="a lighthouse", backend="m", seed=7, width=96, height=64)
    inline = engine_for(tmp_path / "inline")
    prepared = inline.prepare(request)
    assert inline.runs_inline(prepared)
    [made] = inline.run_inline(prepared)

    async def scheduled() -> list[Job]:
        engine = engine_for(tmp_path / "loop")
        await engine.start()
        try:
            return await engine.run(request)
        finally:
            await engine.aclose()

    [other] = asyncio.run(scheduled())
    assert made.state is JobState.DONE and other.state is JobState.DONE
    with Image.open(made.output_path) as a, Image.open(other.output_path) as b:
        assert a.size == b.size == (96, 64) and a.tobytes() == b.tobytes()
    sidecar = json.loads(Path(made.sidecar_path).read_text())
    assert sidecar["seed"] == 7 and sidecar["width"] == 96 and sidecar["height"] == 64


def test_inline_jobs_publish_the_same_events_and_reach_the_job_log(tmp_path: Path) -> None:
    engine = engine_for(tmp_path)
    seen = events_of(engine)
    [job] = engine.run_inline(engine.prepare(GenerationRequest(prompt="fox", seed=3)))
    kinds = [e.kind for e in seen]
    assert kinds == [EventKind.QUEUED, EventKind.STARTED, EventKind.PROGRESS, EventKind.DONE]
    assert seen[2].job.message.startswith("half way") and "sk-secret-123" not in seen[2].job.message
    # the bytes decide size, type and extension, not the adapter's label
    assert job.output_path.endswith(".png") and job.seed == 3
    other = JobLog(tmp_path / "jobs.sqlite3").open()
    [logged] = other.list()
    assert logged.id == job.id and logged.state is JobState.DONE
    assert logged.output_path == job.output_path and logged.seed == 3


@pytest.mark.parametrize(
    ("action", "code", "fragment"),
    [("fail", "bad_request", "refused"), ("bug", "internal", "ZeroDivisionError")],
)
def test_an_inline_failure_is_recorded_redacted(
    tmp_path: Path, action: str, code: str, fragment: str
) -> None:
    Quick.action = action
    engine = engine_for(tmp_path)
    [job] = engine.run_inline(engine.prepare(GenerationRequest(prompt="fox")))
    assert job.state is JobState.FAILED and job.error_code == code
    assert fragment in job.error_message and "sk-secret-123" not in job.error_message
    assert not list((tmp_path / "out").glob("*.png"))


def test_a_store_failure_inline_is_a_storage_error_naming_the_folder(tmp_path: Path) -> None:
    engine = engine_for(tmp_path, store=FullDisk)
    [job] = engine.run_inline(engine.prepare(GenerationRequest(prompt="fox")))
    assert job.state is JobState.FAILED and job.error_code == "storage"
    assert str(tmp_path / "out") in job.error_message


def test_an_interrupt_while_generating_cancels_and_leaves_no_file(tmp_path: Path) -> None:
    Quick.action = "interrupt"
    engine = engine_for(tmp_path)
    seen = events_of(engine)
    with pytest.raises(KeyboardInterrupt):
        engine.run_inline(engine.prepare(GenerationRequest(prompt="fox")))
    [job] = engine.jobs()
    assert job.state is JobState.CANCELLED and seen[-1].kind is EventKind.CANCELLED
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
    [logged] = JobLog(tmp_path / "jobs.sqlite3").open().list()
    assert logged.state is JobState.CANCELLED


def test_an_interrupt_while_saving_waits_until_image_and_sidecar_have_landed(
    tmp_path: Path,
) -> None:
    engine = engine_for(tmp_path, store=InterruptedSave)
    with pytest.raises(KeyboardInterrupt):
        engine.run_inline(engine.prepare(GenerationRequest(prompt="fox", seed=5)))
    [job] = engine.jobs()
    assert job.state is JobState.DONE  # made and kept: never half-cancelled
    assert Path(job.output_path).is_file() and Path(job.sidecar_path).is_file()
    assert [p.name for p in (tmp_path / "out").iterdir() if p.name.startswith(".")] == []


@pytest.mark.parametrize(
    "request_",
    [
        GenerationRequest(prompt="fox", backend="slow"),  # latency to simulate
        GenerationRequest(prompt="fox", backend="m", count=2),  # a batch runs in parallel
        GenerationRequest(prompt="fox", backend="m", width=4096, height=4096),  # long render
        GenerationRequest(prompt="fox", backend="m", options={"fail_with": "rate_limited"}),
    ],
    ids=["latency", "batch", "huge", "simulated-failure"],
)
def test_what_waits_retries_or_takes_long_runs_on_the_loop(
    tmp_path: Path, request_: GenerationRequest
) -> None:
    engine = engine_for(tmp_path)
    prepared = engine.prepare(request_)
    assert prepared.ok, prepared.problems
    assert not engine.runs_inline(prepared)
    with pytest.raises(ImagenTuiError, match="use submit"):
        engine.run_inline(prepared)


def test_a_dead_processes_resumable_job_sends_the_run_to_the_loop(tmp_path: Path) -> None:
    """Only the loop can resume a paid job by its remote id; other orphans are settled here."""
    log = JobLog(tmp_path / "jobs.sqlite3").open()
    dead = 2**22 + 12345  # above Linux's default pid_max: no such process
    orphan = Job(request=GenerationRequest(prompt="paid", backend="r", seed=1), pid=dead)
    orphan.remote_id, orphan.state = "remote-1", JobState.RUNNING
    lost = Job(request=GenerationRequest(prompt="lost", backend="q", seed=2), pid=dead)
    lost.state = JobState.RUNNING
    log.record([orphan, lost])
    engine = engine_for(tmp_path)
    assert engine.start_inline() is False
    states = {j.id: j.state for j in log.list()}
    assert states == {orphan.id: JobState.RUNNING, lost.id: JobState.FAILED}


def test_after_the_loop_has_started_jobs_are_not_run_inline(tmp_path: Path) -> None:
    async def main() -> bool:
        engine = engine_for(tmp_path)
        await engine.start()
        try:
            return engine.start_inline()
        finally:
            await engine.aclose()

    assert asyncio.run(main()) is False


def test_once_inline_cancels_on_sigterm_like_on_the_loop(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import argparse

    from imagen_tui.tui.exit import EXIT_INTERRUPTED
    from imagen_tui.tui.headless import run_request

    Quick.action = "terminate"
    engine = engine_for(tmp_path)
    before = signal.getsignal(signal.SIGTERM)
    opts = argparse.Namespace(json=False, quiet=True)
    code = run_request(engine, GenerationRequest(prompt="fox"), opts)
    assert code == EXIT_INTERRUPTED
    assert "interrupted: cancelled, no partial files left" in capsys.readouterr().err
    assert [j.state for j in engine.jobs()] == [JobState.CANCELLED]
    assert signal.getsignal(signal.SIGTERM) is before  # put back for whoever runs next
