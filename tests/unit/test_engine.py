"""The job runner: caps, FIFO, retries, timeouts, cancel, events, job log, resume."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from imagen_tui.backends import registry
from imagen_tui.backends.base import Backend, Capability, JobContext
from imagen_tui.backends.config import load_config
from imagen_tui.backends.engine import Engine
from imagen_tui.backends.errors import ErrorCode, ImagenError
from imagen_tui.backends.events import EventKind, JobEvent
from imagen_tui.backends.models import GenerationRequest, ImageResult, Job, JobState
from imagen_tui.backends.retry import RetryPolicy
from imagen_tui.backends.store.history import HistoryStore
from imagen_tui.backends.store.joblog import JobLog

PNG_1PX = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de"
    "0000000c4944415408d763f8cfc0000003010100c9fe92ef0000000049454e44ae426082"
)

Behaviour = Callable[["ScriptedBackend", GenerationRequest, JobContext], Awaitable[ImageResult]]


class ScriptedBackend(Backend):
    """A test backend whose behaviour each test sets; it records what the engine did."""

    type_name = "scripted"
    description = "test double"
    behaviour: Behaviour
    log: list[str] = []
    running = 0
    peak = 0

    capabilities = frozenset(
        {
            Capability.TXT2IMG,
            Capability.CANCEL,
            Capability.RESUME,
            Capability.SEED,
            Capability.NEGATIVE,
        }
    )

    async def generate(self, request: GenerationRequest, ctx: JobContext) -> ImageResult:
        cls = type(self)
        cls.running += 1
        cls.peak = max(cls.peak, cls.running)
        cls.log.append(f"start {self.name} {request.prompt}")
        try:
            return await cls.behaviour(self, request, ctx)
        finally:
            cls.running -= 1

    async def cancel(self, ctx: JobContext) -> None:
        type(self).log.append(f"remote-cancel {ctx.job_id}")

    async def resume(self, request: GenerationRequest, ctx: JobContext) -> ImageResult:
        type(self).log.append(f"resume {ctx.remote_id}")
        return ImageResult(data=PNG_1PX, seed=7)


async def ok(backend: Backend, request: GenerationRequest, ctx: JobContext) -> ImageResult:
    await asyncio.sleep(0.01)
    ctx.progress(0.5, "half")
    await asyncio.sleep(0.01)
    ctx.progress(1.0, "done")
    return ImageResult(data=PNG_1PX, seed=request.seed or 1, cost_usd=0.01)


@pytest.fixture(autouse=True)
def scripted(tmp_path: Path):
    registry.register("scripted", ScriptedBackend)
    ScriptedBackend.behaviour = staticmethod(ok)  # type: ignore[assignment]
    ScriptedBackend.log = []
    ScriptedBackend.running = ScriptedBackend.peak = 0
    yield ScriptedBackend
    registry.unregister("scripted")


def make_engine(tmp_path: Path, toml: str = "", *, store: bool = False, retries: int = 3) -> Engine:
    cfg = tmp_path / "config.toml"
    cfg.write_text(
        '[backends.a]\ntype = "scripted"\nmax_concurrent = 1\n'
        '[backends.b]\ntype = "scripted"\nmax_concurrent = 4\n' + toml
    )
    config = load_config(cfg)
    history = log = None
    if store:
        out = tmp_path / "out"
        history = HistoryStore(out, "{slug}-{n}.{ext}", index_path=tmp_path / "index.sqlite3")
        log = JobLog(tmp_path / "jobs.sqlite3")
    policy = RetryPolicy(retries=retries, base_s=0.01, cap_s=0.05)
    return Engine(config, history, job_log=log, retry=policy)


def request(prompt: str = "fox", backend: str = "a", **kw) -> GenerationRequest:
    return GenerationRequest(prompt=prompt, backend=backend, width=64, height=64, **kw)


def run(coro):
    return asyncio.run(coro)


def test_fifo_per_instance_and_instance_cap(tmp_path: Path) -> None:
    async def main() -> list[Job]:
        engine = make_engine(tmp_path)
        jobs = [j for p in "pqrs" for j in engine.submit(request(p))]
        return await engine.wait(jobs)

    jobs = run(main())
    assert [j.state for j in jobs] == [JobState.DONE] * 4
    assert ScriptedBackend.log == [f"start a {p}" for p in "pqrs"]
    assert ScriptedBackend.peak == 1


def test_global_cap_limits_across_instances(tmp_path: Path) -> None:
    async def main() -> None:
        engine = make_engine(tmp_path, "[limits]\nmax_concurrent = 2\n")
        await engine.run(request("x", backend="b", count=6))

    run(main())
    assert ScriptedBackend.peak == 2


def test_count_makes_one_job_per_image_with_consecutive_seeds(tmp_path: Path) -> None:
    jobs = run(make_engine(tmp_path).run(request(backend="b", count=3, seed=10)))
    assert [j.request.seed for j in jobs] == [10, 11, 12]
    assert [j.seed for j in jobs] == [10, 11, 12]
    assert len({j.batch for j in jobs}) == 1
    assert all(j.request.count == 1 for j in jobs)


def test_rate_limit_is_retried_and_retry_after_honoured(tmp_path: Path) -> None:
    calls: list[float] = []

    async def flaky(backend, req, ctx):
        calls.append(asyncio.get_running_loop().time())
        if len(calls) < 3:
            raise ImagenError(ErrorCode.RATE_LIMITED, "429", retry_after=0.2)
        return ImageResult(data=PNG_1PX)

    ScriptedBackend.behaviour = staticmethod(flaky)  # type: ignore[assignment]
    events: list[JobEvent] = []

    async def main() -> list[Job]:
        engine = make_engine(tmp_path)
        engine.events.subscribe(events.append)
        return await engine.run(request())

    (job,) = run(main())
    assert job.state is JobState.DONE and job.attempts == 3
    assert all(b - a >= 0.2 for a, b in zip(calls, calls[1:], strict=False))
    assert [e.kind for e in events].count(EventKind.RETRYING) == 2


def test_other_4xx_never_retried(tmp_path: Path) -> None:
    async def bad(backend, req, ctx):
        raise ImagenError(ErrorCode.BAD_REQUEST, "size not supported", status=400)

    ScriptedBackend.behaviour = staticmethod(bad)  # type: ignore[assignment]
    (job,) = run(make_engine(tmp_path).run(request()))
    assert job.state is JobState.FAILED
    assert job.attempts == 1
    assert job.error_code == "bad_request"
    assert "size not supported" in (job.error_message or "")


def test_retries_exhausted_reports_the_last_error(tmp_path: Path) -> None:
    async def down(backend, req, ctx):
        raise ImagenError(ErrorCode.UNAVAILABLE, "HTTP 503")

    ScriptedBackend.behaviour = staticmethod(down)  # type: ignore[assignment]
    (job,) = run(make_engine(tmp_path, retries=2).run(request()))
    assert (job.state, job.error_code, job.attempts) == (JobState.FAILED, "unavailable", 3)


def test_timeout_fails_the_job(tmp_path: Path) -> None:
    async def hang(backend, req, ctx):
        await asyncio.sleep(30)

    ScriptedBackend.behaviour = staticmethod(hang)  # type: ignore[assignment]
    (job,) = run(make_engine(tmp_path, "[backends.t]\ntype='scripted'\ntimeout_s=0.2\n").run(
        request(backend="t")
    ))  # fmt: skip
    assert job.state is JobState.FAILED and job.error_code == "timeout"
    assert "0.2s" in (job.error_message or "")


def test_unexpected_exception_is_internal_not_fatal(tmp_path: Path) -> None:
    async def boom(backend, req, ctx):
        raise RuntimeError("adapter bug")

    ScriptedBackend.behaviour = staticmethod(boom)  # type: ignore[assignment]
    (job,) = run(make_engine(tmp_path).run(request()))
    assert job.error_code == "internal" and "adapter bug" in (job.error_message or "")


def test_cancel_running_calls_remote_cancel_queued_does_not(tmp_path: Path) -> None:
    async def slow(backend, req, ctx):
        await asyncio.sleep(30)

    ScriptedBackend.behaviour = staticmethod(slow)  # type: ignore[assignment]

    async def main() -> list[Job]:
        engine = make_engine(tmp_path)
        running, queued = engine.submit(request("one")) + engine.submit(request("two"))
        await asyncio.sleep(0.05)
        assert await engine.cancel(running.id) and await engine.cancel(queued.id)
        return await engine.wait([running, queued])

    running, queued = run(main())
    assert running.state is queued.state is JobState.CANCELLED
    assert f"remote-cancel {running.id}" in ScriptedBackend.log
    assert f"remote-cancel {queued.id}" not in ScriptedBackend.log
    assert "start a two" not in ScriptedBackend.log


def test_progress_reaches_every_subscriber_and_a_broken_one_is_isolated(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    first: list[JobEvent] = []
    second: list[JobEvent] = []

    def broken(event: JobEvent) -> None:
        raise ValueError("ui bug")

    async def main() -> list[Job]:
        engine = make_engine(tmp_path)
        engine.events.subscribe(first.append)
        engine.events.subscribe(broken)
        engine.events.subscribe(second.append)
        return await engine.run(request())

    (job,) = run(main())
    assert job.state is JobState.DONE
    kinds = [e.kind for e in first]
    assert kinds[0] is EventKind.QUEUED and kinds[1] is EventKind.STARTED
    assert kinds[-1] is EventKind.DONE
    assert [e.job.progress for e in first if e.kind is EventKind.PROGRESS] == [0.5, 1.0]
    assert [e.kind for e in second] == kinds
    assert "ui bug" in caplog.text


def test_jobs_and_images_are_persisted_for_other_processes(tmp_path: Path) -> None:
    async def main() -> tuple[Engine, list[Job]]:
        engine = make_engine(tmp_path, store=True)
        await engine.start()
        jobs = await engine.run(request("a red fox", count=2))
        await engine.aclose()
        return engine, jobs

    engine, jobs = run(main())
    assert engine.store is not None
    other = JobLog(tmp_path / "jobs.sqlite3")  # what another process sees
    for job in jobs:
        assert job.output_path and Path(job.output_path).is_file()
        logged = other.get(job.id)
        assert logged is not None
        assert (logged.state, logged.output_path) == (JobState.DONE, job.output_path)
    assert engine.store.index.count() == 2
    rows = engine.store.index.search("fox")
    assert {r.path for r in rows} == {j.output_path for j in jobs}


def test_orphaned_job_is_resumed_by_remote_id(tmp_path: Path) -> None:
    dead_pid = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True, check=True).stdout  # fmt: skip
    engine = make_engine(tmp_path, store=True)
    assert engine.store is not None
    orphan = Job(request=request(), state=JobState.RUNNING, remote_id="pred-42", pid=int(dead_pid))
    no_remote = Job(request=request("x"), state=JobState.RUNNING, pid=int(dead_pid))
    mine = Job(request=request("y"), state=JobState.RUNNING, pid=os.getppid())
    log = JobLog(tmp_path / "jobs.sqlite3")
    log.record([orphan, no_remote, mine])

    async def main() -> list[Job]:
        resumed = await engine.start()
        done = await engine.wait(resumed)
        await engine.aclose()
        return done

    (resumed,) = run(main())
    assert resumed.id == orphan.id and resumed.state is JobState.DONE
    assert ScriptedBackend.log == ["resume pred-42"]
    failed = log.get(no_remote.id)
    assert failed is not None and failed.state is JobState.FAILED
    assert "ended before it finished" in (failed.error_message or "")
    alive = log.get(mine.id)
    assert alive is not None and alive.state is JobState.RUNNING
    assert log.get(orphan.id).state is JobState.DONE  # type: ignore[union-attr]


def test_style_wraps_prompt_and_merges_negative(tmp_path: Path) -> None:
    toml = '[styles.film]\nprompt = "analog film photo of {prompt}"\nnegative = "blurry"\n'
    (job,) = run(make_engine(tmp_path, toml).run(request("a fox", style="film", negative="cats")))
    assert job.request.prompt == "analog film photo of a fox"
    assert job.request.negative == "blurry, cats"
    assert job.user_prompt == "a fox"


def test_retry_job_runs_the_same_request_again(tmp_path: Path) -> None:
    async def main() -> tuple[Job, Job]:
        engine = make_engine(tmp_path)
        (first,) = await engine.run(request("again", seed=5))
        (second,) = await engine.wait([await engine.retry(first.id)])
        return first, second

    first, second = run(main())
    assert second.id != first.id and second.request == first.request
    assert second.state is JobState.DONE


def test_retry_policy_backoff_grows_with_jitter_and_respects_retry_after() -> None:
    import random

    policy = RetryPolicy(retries=5, base_s=1.0, cap_s=8.0, rng=random.Random(1))
    delays = [policy.delay(n) for n in range(1, 6)]
    for n, d in enumerate(delays, start=1):
        backoff = min(8.0, 2 ** (n - 1))
        assert backoff / 2 <= d <= backoff
    assert policy.delay(1, retry_after=5.0) == 5.0
    assert policy.should_retry(5) and not policy.should_retry(6)


@pytest.mark.parametrize(
    ("header", "expected"),
    [("3", 3.0), ("0.5", 0.5), ("-2", 0.0), ("soon", None), (None, None),
     ("Wed, 21 Oct 2015 07:28:10 GMT", 10.0)],
)  # fmt: skip
def test_parse_retry_after(header: str | None, expected: float | None) -> None:
    from email.utils import parsedate_to_datetime

    from imagen_tui.backends.retry import parse_retry_after

    now = parsedate_to_datetime("Wed, 21 Oct 2015 07:28:00 GMT").timestamp()
    assert parse_retry_after(header, now=now) == expected


def test_builtin_shortcut_matches_the_registered_entry_points() -> None:
    from importlib.metadata import distribution

    declared = {
        ep.name: ep.value
        for ep in distribution("imagen-tui").entry_points
        if ep.group == registry.GROUP
    }
    assert declared == registry.BUILTIN_TYPES
