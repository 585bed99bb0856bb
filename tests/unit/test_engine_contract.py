"""The engine contract the workbench and the HTTP adapters stand on (issue: engine contract)."""

from __future__ import annotations

import asyncio
import io
import json
import sqlite3
import subprocess
import sys
import time
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
from imagen_tui.backends.errors import ErrorCode, ImagenError
from imagen_tui.backends.models import MAX_COUNT
from imagen_tui.backends.retry import RetryPolicy
from imagen_tui.backends.store.history import HistoryStore
from imagen_tui.backends.store.joblog import JobLog


def png(width: int = 8, height: int = 8, fmt: str = "PNG") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 80, 40)).save(out, fmt)
    return out.getvalue()


class FlavourOptions(BackendOptions):
    flavour: str = "plain"
    """A per-job option the adapter reads from ctx.options."""
    delay_s: float = 0.0
    """How long one image takes."""


class Probe(Backend):
    """Records what the engine handed it; each test sets `result` or `fail`."""

    type_name = "probe"
    description = "test double"
    Options = FlavourOptions
    capabilities = frozenset({Capability.TXT2IMG, Capability.SEED, Capability.CANCEL})
    seen: ClassVar[list[tuple[str, int | None, str]]] = []
    instances: ClassVar[int] = 0
    result: ClassVar[bytes] = b""
    fail: ClassVar[list[ImagenError]] = []
    cancelled: ClassVar[list[str]] = []

    def __init__(self, *args, **kw) -> None:
        super().__init__(*args, **kw)
        type(self).instances += 1

    async def generate(self, request: GenerationRequest, ctx: JobContext) -> ImageResult:
        opts = ctx.options
        assert isinstance(opts, FlavourOptions)
        type(self).seen.append((self.name, request.seed, opts.flavour))
        if type(self).fail:
            raise type(self).fail.pop(0)
        ctx.preview(png(4, 4))
        await asyncio.sleep(opts.delay_s)
        return ImageResult(data=type(self).result or png(), mime_type="image/png")

    async def cancel(self, ctx: JobContext) -> None:
        type(self).cancelled.append(ctx.job_id)


class SizedProbe(Probe):
    type_name = "sized"
    sizes = ("64x64", "128x64")


@pytest.fixture(autouse=True)
def probe_types():
    registry.register("probe", Probe)
    registry.register("sized", SizedProbe)
    Probe.seen, Probe.fail, Probe.cancelled, Probe.result, Probe.instances = [], [], [], b"", 0
    yield
    registry.unregister("probe")
    registry.unregister("sized")


def engine_for(
    tmp_path: Path, extra: str = "", *, retries: int = 3, log_path: Path | None = None
) -> Engine:
    cfg = tmp_path / "config.toml"
    cfg.write_text(
        'default_backend = "a"\n[backends.a]\ntype = "probe"\n[backends.b]\ntype = "probe"\n'
        '[backends.s]\ntype = "sized"\n' + extra
    )
    config = load_config(cfg)
    store = HistoryStore(tmp_path / "out", "{slug}-{seed}.{ext}", index_path=tmp_path / "i.db")
    log = JobLog(log_path or tmp_path / "jobs.sqlite3")
    policy = RetryPolicy(retries=retries, base_s=0.01, cap_s=0.05)
    return Engine(config, store, job_log=log, retry=policy)


async def started(engine: Engine) -> Engine:
    await engine.start()
    return engine


def test_seed_is_settled_before_queueing_and_recorded_everywhere(tmp_path: Path) -> None:
    async def main():
        engine = await started(engine_for(tmp_path))
        queued = engine.submit(GenerationRequest(prompt="fox", count=2))
        seeds = [j.request.seed for j in queued]  # known while still queued
        done = await engine.wait(queued)
        await engine.aclose()
        return seeds, done

    seeds, done = asyncio.run(main())
    assert all(isinstance(s, int) for s in seeds) and seeds[1] == seeds[0] + 1
    assert [s for _, s, _ in Probe.seen] == seeds
    for job, seed in zip(done, seeds, strict=True):
        side = json.loads(Path(job.sidecar_path).read_text())
        assert side["seed"] == side["request"]["seed"] == job.seed == seed
        logged = JobLog(tmp_path / "jobs.sqlite3").get(job.id)
        assert logged.request.seed == seed


def test_rerunning_an_images_request_gives_identical_pixels(tmp_path: Path) -> None:
    engine = Engine.open()

    async def make(request: GenerationRequest):
        await engine.start()
        (job,) = await engine.run(request)
        return job

    first = asyncio.run(make(GenerationRequest(prompt="a calm lake", width=96, height=64)))
    again = engine.history.request_for(Path(first.output_path))
    assert again.seed == first.seed and again.prompt == "a calm lake"
    second = asyncio.run(make(again))
    assert Path(first.output_path) != Path(second.output_path)
    with Image.open(first.output_path) as a, Image.open(second.output_path) as b:
        assert a.tobytes() == b.tobytes()


def test_problems_name_the_field_and_nothing_is_sent(tmp_path: Path) -> None:
    engine = engine_for(tmp_path)
    bad = GenerationRequest(prompt=" ", width=10, seed=-1, count=99, negative="x",
                            options={"flavor": "typo"})  # fmt: skip
    prepared = engine.prepare(bad)
    fields = {p.field for p in prepared.problems}
    assert {"prompt", "width", "seed", "count", "negative", "options.flavor"} <= fields
    assert any("flavour" in p.message for p in prepared.problems if p.field == "options.flavor")
    assert not prepared.ok and Probe.seen == []
    assert engine.prepare(GenerationRequest(prompt="x", backend="nope")).problems[0].field == (
        "backend"
    )


def test_a_huge_count_is_refused_without_building_a_request_per_image(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = engine_for(tmp_path)
    built: list[int] = []

    def normalize(self: Probe, request: GenerationRequest, options: object) -> GenerationRequest:
        built.append(request.count)
        return request

    monkeypatch.setattr(Probe, "normalize", normalize)
    prepared = engine.prepare(GenerationRequest(prompt="x", count=MAX_COUNT + 1))
    assert [p.field for p in prepared.problems] == ["count"]
    assert prepared.requests == () and built == []


def test_backend_sizes_are_enforced_before_sending(tmp_path: Path) -> None:
    engine = engine_for(tmp_path)
    prepared = engine.prepare(GenerationRequest(prompt="x", backend="s", width=100, height=100))
    (problem,) = prepared.problems
    assert problem.field == "size" and "64x64, 128x64" in problem.message
    ok = engine.prepare(GenerationRequest(prompt="x", backend="s", width=128, height=64))
    assert ok.ok and ok.requests[0].size == "128x64"


def test_per_job_options_reach_the_adapter_and_one_backend_object_per_instance(
    tmp_path: Path,
) -> None:
    async def main():
        engine = await started(engine_for(tmp_path))
        await engine.run(GenerationRequest(prompt="x", options={"flavour": "smoky"}))
        await engine.run(GenerationRequest(prompt="y", options={"flavour": "sweet"}))
        await engine.run(GenerationRequest(prompt="z"))
        await engine.aclose()

    asyncio.run(main())
    assert [f for _, _, f in Probe.seen] == ["smoky", "sweet", "plain"]
    assert Probe.instances == 1


def test_size_and_type_come_from_the_bytes(tmp_path: Path) -> None:
    Probe.result = png(150, 100, "WEBP")

    async def main():
        engine = await started(engine_for(tmp_path))
        (job,) = await engine.run(GenerationRequest(prompt="wide", width=64, height=64))
        await engine.aclose()
        return job

    job = asyncio.run(main())
    assert job.output_path.endswith(".webp")
    side = json.loads(Path(job.sidecar_path).read_text())
    assert (side["width"], side["height"], side["mime_type"]) == (150, 100, "image/webp")


def test_non_image_bytes_fail_as_no_image_and_write_nothing(tmp_path: Path) -> None:
    Probe.result = b"<html>gateway error</html>"

    async def main():
        engine = await started(engine_for(tmp_path))
        (job,) = await engine.run(GenerationRequest(prompt="x"))
        await engine.aclose()
        return job

    job = asyncio.run(main())
    assert (job.state, job.error_code) == (JobState.FAILED, "no_image")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("*.*"))


def test_preview_channel_publishes_partial_images(tmp_path: Path) -> None:
    events: list[JobEvent] = []

    async def main():
        engine = await started(engine_for(tmp_path))
        engine.subscribe(events.append)
        await engine.run(GenerationRequest(prompt="x"))
        await engine.aclose()

    asyncio.run(main())
    previews = [e for e in events if e.kind is EventKind.PREVIEW]
    assert len(previews) == 1 and previews[0].preview[:8] == b"\x89PNG\r\n\x1a\n"


def test_backoff_releases_the_caps_so_other_backends_run(tmp_path: Path) -> None:
    """A rate-limited job waiting 1 s must not hold the only global slot."""
    Probe.fail = [ImagenError(ErrorCode.RATE_LIMITED, "429", retry_after=1.0)]
    events: list[JobEvent] = []

    async def main():
        engine = await started(engine_for(tmp_path, "[limits]\nmax_concurrent = 1\n"))
        engine.subscribe(events.append)
        (limited,) = engine.submit(GenerationRequest(prompt="limited", backend="a"))
        await asyncio.sleep(0.1)
        t0 = time.monotonic()
        (other,) = await engine.run(GenerationRequest(prompt="other", backend="b"))
        other_took = time.monotonic() - t0
        (limited,) = await engine.wait([limited])
        await engine.aclose()
        return other, other_took, limited

    other, other_took, limited = asyncio.run(main())
    assert other.state is limited.state is JobState.DONE
    assert other_took < 0.8, "the unrelated backend waited behind the back-off"
    waiting = [e.job for e in events if e.kind is EventKind.RETRYING]
    assert waiting and waiting[0].state is JobState.QUEUED
    assert waiting[0].waiting_until is not None and "retry 1/3 in 1.0s" in waiting[0].message


def test_cancel_from_another_process_reaches_the_owner_and_the_provider(tmp_path: Path) -> None:
    async def main():
        from imagen_tui.backends import paths  # where `imagen-tui cancel` looks

        slow = "[backends.slow]\ntype='probe'\ndelay_s=30\n"
        engine = await started(engine_for(tmp_path, slow, log_path=paths.joblog_path()))
        (job,) = engine.submit(GenerationRequest(prompt="long render", backend="slow"))
        await engine.flush()
        await asyncio.sleep(0.1)
        t0 = time.monotonic()
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "imagen_tui.tui.cli", "cancel", job.id,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(proc.communicate(), 60)
        asked = time.monotonic()
        (job,) = await asyncio.wait_for(engine.wait([job]), 10)
        noticed = time.monotonic() - asked
        await engine.aclose()
        return proc.returncode, out.decode(), err.decode(), job, noticed, t0

    rc, out, err, job, noticed, _ = asyncio.run(main())
    assert rc == 0, err
    assert "cancel requested" in out
    assert job.state is JobState.CANCELLED
    assert noticed < 1.5
    assert Probe.cancelled == [job.id]


def test_changed_since_shows_other_processes_jobs_and_later_changes(tmp_path: Path) -> None:
    log = JobLog(tmp_path / "jobs.sqlite3")
    jobs, cursor = log.changed_since(0)
    assert (jobs, cursor) == ([], 0)
    code = (
        "import asyncio, sys\n"
        "from imagen_tui.backends import Engine, GenerationRequest\n"
        "async def main():\n"
        "    e = Engine.open()\n"
        "    await e.start()\n"
        "    await e.run(GenerationRequest(prompt='from a script', width=64, height=64))\n"
        "    await e.aclose()\n"
        "asyncio.run(main())\n"
    )
    env_state = Path(__import__("os").environ["XDG_STATE_HOME"])
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    log = JobLog(env_state / "imagen-tui" / "jobs.sqlite3")
    jobs, cursor = log.changed_since(0)
    assert [j.user_prompt for j in jobs] == ["from a script"]
    assert jobs[0].state is JobState.DONE and jobs[0].updated_at >= jobs[0].created_at
    again, same = log.changed_since(cursor)
    assert (again, same) == ([], cursor)
    assert log.request_cancel(jobs[0].id) is False  # finished jobs cannot be cancelled


def test_a_job_row_that_no_longer_parses_is_shown_failed_not_dropped(tmp_path: Path) -> None:
    log = JobLog(tmp_path / "jobs.sqlite3").open()
    conn = sqlite3.connect(tmp_path / "jobs.sqlite3")
    conn.execute(
        "INSERT INTO jobs (id, seq, state, backend, created_at, updated_at, data) "
        "VALUES ('old1', 1, 'running', 'replicate', 1.0, 1.0, '{\"request\": 42}')"
    )
    conn.commit()
    conn.close()
    (job,) = log.list()
    assert (job.id, job.state, job.error_code) == ("old1", JobState.FAILED, "internal")
    assert "cannot be read" in job.error_message


def test_job_log_survives_the_image_index_being_rebuilt(tmp_path: Path) -> None:
    async def main():
        engine = await started(engine_for(tmp_path))
        await engine.run(GenerationRequest(prompt="kept"))
        await engine.aclose()
        engine.history.close()

    asyncio.run(main())
    (tmp_path / "i.db").write_bytes(b"this is not a database at all" * 100)
    store = HistoryStore(tmp_path / "out", "{slug}.{ext}", index_path=tmp_path / "i.db")
    assert store.count() == 1  # rebuilt from the files
    assert [j.user_prompt for j in JobLog(tmp_path / "jobs.sqlite3").list()] == ["kept"]


LOCKER = """
import sqlite3, sys, time
conns = []
for path in sys.argv[1:]:
    c = sqlite3.connect(path, isolation_level=None)
    c.execute("BEGIN EXCLUSIVE")
    conns.append(c)
print("locked", flush=True)
time.sleep(2.0)
for c in conns:
    c.execute("ROLLBACK")
"""


def test_loop_never_stalls_while_another_process_holds_the_write_locks(tmp_path: Path) -> None:
    engine = engine_for(tmp_path)
    asyncio.run(_warm(engine))  # both databases exist

    async def main():
        await engine.start()
        locker = await asyncio.create_subprocess_exec(
            sys.executable, "-c", LOCKER, str(tmp_path / "i.db"), str(tmp_path / "jobs.sqlite3"),
            stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert (await locker.stdout.readline()).strip() == b"locked"
        worst, stop = 0.0, False

        async def ticker():
            nonlocal worst
            last = time.perf_counter()
            while not stop:
                await asyncio.sleep(0.01)
                now = time.perf_counter()
                worst = max(worst, now - last)
                last = now

        tick = asyncio.create_task(ticker())
        jobs = engine.submit(GenerationRequest(prompt="under lock", count=3))
        jobs = await engine.wait(jobs)
        await engine.aclose()
        stop = True
        await tick
        await locker.wait()
        return worst, jobs

    worst, jobs = asyncio.run(main())
    assert all(j.state is JobState.DONE for j in jobs)
    assert worst < 0.1, f"the event loop stalled for {worst * 1000:.0f} ms"


async def _warm(engine: Engine) -> None:
    await engine.start()
    await engine.run(GenerationRequest(prompt="warm"))
    await engine.aclose()
    engine.history.close()
    engine.history.__dict__.pop("index", None)


class Costly(Probe):
    type_name = "costly"

    def estimate_cost(self, request: GenerationRequest, options: BackendOptions) -> float:
        return 0.4


def test_daily_budget_refuses_before_sending_and_says_how_to_raise_it(tmp_path: Path) -> None:
    registry.register("costly", Costly)
    extra = "[backends.paid]\ntype = 'costly'\n[limits]\nbudget_usd_per_day = 1.0\n"

    async def main():
        engine = await started(engine_for(tmp_path, extra))
        done = await engine.run(GenerationRequest(prompt="x", backend="paid", count=2))
        third = engine.prepare(GenerationRequest(prompt="y", backend="paid"))
        free = engine.prepare(GenerationRequest(prompt="z", backend="a"))  # unknown cost: allowed
        await engine.aclose()
        return done, third, free

    try:
        done, third, free = asyncio.run(main())
    finally:
        registry.unregister("costly")
    assert [j.cost_usd for j in done] == [0.4, 0.4]
    (problem,) = third.problems
    assert problem.field == "budget"
    assert "$0.80" in problem.message and "$0.40" in problem.message and "$1.00" in problem.message
    assert "raise [limits] budget_usd_per_day" in problem.message
    assert free.ok
    assert Probe.seen == [("paid", Probe.seen[0][1], "plain"), ("paid", Probe.seen[1][1], "plain")]


def test_per_instance_budget_counts_only_that_instance(tmp_path: Path) -> None:
    registry.register("costly", Costly)
    extra = (
        "[backends.paid]\ntype = 'costly'\nbudget_usd_per_day = 0.5\n"
        "[backends.other]\ntype = 'costly'\n"
    )

    async def main():
        engine = await started(engine_for(tmp_path, extra))
        await engine.run(GenerationRequest(prompt="x", backend="other", count=3))
        first = engine.prepare(GenerationRequest(prompt="y", backend="paid"))
        await engine.run(first)
        second = engine.prepare(GenerationRequest(prompt="z", backend="paid"))
        await engine.aclose()
        return first, second

    try:
        first, second = asyncio.run(main())
    finally:
        registry.unregister("costly")
    assert first.ok
    assert [p.field for p in second.problems] == ["budget"]
    assert "[backends.paid] budget_usd_per_day" in second.problems[0].message


class Echoing(Probe):
    """A provider that quotes the credential it refused, in progress and in the error."""

    type_name = "echoing"

    def secrets(self) -> list[str]:
        return ["sk-live-SECRET123"]

    async def generate(self, request: GenerationRequest, ctx: JobContext) -> ImageResult:
        ctx.progress(0.5, "retrying with Bearer sk-live-SECRET123")
        raise ImagenError(ErrorCode.AUTH_FAILED, "Incorrect API key: Bearer sk-live-SECRET123")


def test_credentials_echoed_by_a_provider_never_reach_messages_or_the_job_log(
    tmp_path: Path,
) -> None:
    registry.register("echoing", Echoing)
    events: list[JobEvent] = []

    async def main():
        engine = await started(engine_for(tmp_path, "[backends.e]\ntype = 'echoing'\n"))
        engine.subscribe(events.append)
        (job,) = await engine.run(GenerationRequest(prompt="x", backend="e"))
        await engine.aclose()
        return job

    try:
        job = asyncio.run(main())
    finally:
        registry.unregister("echoing")
    assert job.error_code == "auth_failed" and "[redacted]" in job.error_message
    assert all("SECRET123" not in (e.job.message + (e.job.error_message or "")) for e in events)
    for db in tmp_path.glob("jobs.sqlite3*"):  # the WAL too
        assert b"SECRET123" not in db.read_bytes()
