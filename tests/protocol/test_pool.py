"""The pool through the real Engine over several loopback hosts (fake A1111s, fake job hosts)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from imagen_tui.backends import registry
from imagen_tui.backends.adapters.pool import PoolBackend
from imagen_tui.backends.errors import ConfigError, ErrorCode, ImagenError, RequestError
from imagen_tui.backends.events import EventKind, JobEvent
from imagen_tui.backends.models import Job, JobState
from imagen_tui.backends.store.joblog import JobLog
from tests.fakes.a1111 import FakeA1111
from tests.fakes.jobhost import FakeJobHost, JobHostBackend
from tests.fakes.server import FakeServer, running

from .a1111_helpers import eventually, make_engine, request, run_jobs, sidecar


def a1111_pool(url1: str, url2: str, extra: str = "") -> str:
    return (
        f'[backends.gpu1]\ntype = "a1111"\nbase_url = "{url1}"\npoll_s = 0.05\n'
        f'[backends.gpu2]\ntype = "a1111"\nbase_url = "{url2}"\npoll_s = 0.05\n'
        f'[backends.farm]\ntype = "pool"\nmembers = ["gpu1", "gpu2"]\n{extra}'
    )


@pytest.fixture
def hosts() -> Iterator[tuple[FakeServer, FakeServer]]:
    with running() as one, running() as two:
        yield one, two


@pytest.fixture
def jobhost_type() -> Iterator[None]:
    registry.register("jobhost", JobHostBackend)
    yield
    registry.unregister("jobhost")


def closed_url() -> str:
    with running() as gone:
        return gone.url


def test_job_goes_to_the_least_busy_member_with_progress_and_previews(
    tmp_path: Path, hosts: tuple[FakeServer, FakeServer]
) -> None:
    busy, idle = FakeA1111(step_s=0.05).install(hosts[0]), FakeA1111().install(hosts[1])
    busy.start_foreign_job(steps=200)
    events: list[JobEvent] = []

    async def main() -> list[Job]:
        async with httpx.AsyncClient() as http:
            engine = make_engine(tmp_path, a1111_pool(hosts[0].url, hosts[1].url), http)
            return await run_jobs(engine, request("farm", steps=8), events)

    (job,) = asyncio.run(main())
    assert job.state is JobState.DONE, job.error_message
    assert not hosts[0].requests_to("POST", "/sdapi/v1/txt2img")
    assert len(hosts[1].requests_to("POST", "/sdapi/v1/txt2img")) == 1
    assert hosts[0].requests_to("GET", "/sdapi/v1/progress")  # it was asked, and was busy
    meta = sidecar(job)
    assert meta["provider"]["pool"] == "farm" and meta["provider"]["pool_member"] == "gpu2"
    assert meta["backend"] == "farm" and meta["seed"] == job.request.seed
    messages = [e.job.message for e in events if e.kind is EventKind.PROGRESS]
    assert "gpu2: sent" in messages and any(m.startswith("gpu2: step ") for m in messages)
    assert any(e.kind is EventKind.PREVIEW for e in events)
    assert idle.jobs[0].body["seed"] == job.request.seed


def test_concurrent_jobs_spread_over_idle_members(
    tmp_path: Path, hosts: tuple[FakeServer, FakeServer]
) -> None:
    fakes = [FakeA1111(step_s=0.02).install(h) for h in hosts]

    async def main() -> list[Job]:
        async with httpx.AsyncClient() as http:
            engine = make_engine(tmp_path, a1111_pool(hosts[0].url, hosts[1].url), http)
            return await run_jobs(engine, request("farm", steps=10, count=2))

    jobs = asyncio.run(main())
    assert [j.state for j in jobs] == [JobState.DONE, JobState.DONE]
    assert [len(f.jobs) for f in fakes] == [1, 1]
    assert {sidecar(j)["provider"]["pool_member"] for j in jobs} == {"gpu1", "gpu2"}


def test_a_member_that_is_down_is_skipped_and_reported(
    tmp_path: Path, hosts: tuple[FakeServer, FakeServer]
) -> None:
    FakeA1111().install(hosts[0])
    down = closed_url()

    async def main() -> tuple:
        async with httpx.AsyncClient() as http:
            engine = make_engine(tmp_path, a1111_pool(hosts[0].url, down), http)
            (job,) = await run_jobs(engine, request("farm", steps=2))
            pool = engine.backend("farm")
            notes = engine.prepare(request("farm")).warnings
            return job, pool.readiness(), notes, await pool.probe(http)

    job, readiness, notes, probed = asyncio.run(main())
    assert job.state is JobState.DONE and sidecar(job)["provider"]["pool_member"] == "gpu1"
    assert readiness is None  # one host down is not fatal
    (note,) = notes
    assert note.startswith("pool member gpu2 was down at ") and f"{down}/sdapi/v1/progress" in note
    assert probed is not None and probed.startswith("members down: gpu2 (cannot connect to ")


def test_every_member_down_is_unavailable_naming_each_url(tmp_path: Path) -> None:
    url1, url2 = closed_url(), closed_url()

    async def main() -> list[Job]:
        async with httpx.AsyncClient() as http:
            engine = make_engine(tmp_path, a1111_pool(url1, url2), http, retries=1)
            return await run_jobs(engine, request("farm"))

    (job,) = asyncio.run(main())
    assert job.state is JobState.FAILED and job.error_code == "unavailable"
    message = job.error_message or ""
    assert "every member of pool 'farm' is down" in message
    assert f"{url1}/sdapi/v1/progress" in message and f"{url2}/sdapi/v1/progress" in message


def test_cancel_reaches_the_member_that_has_the_job(
    tmp_path: Path, hosts: tuple[FakeServer, FakeServer]
) -> None:
    idle, busy = FakeA1111(step_s=0.02).install(hosts[0]), FakeA1111().install(hosts[1])
    busy.start_foreign_job(steps=400)

    async def main() -> Job:
        async with httpx.AsyncClient() as http:
            engine = make_engine(tmp_path, a1111_pool(hosts[0].url, hosts[1].url), http)
            await engine.start()
            (job,) = engine.submit(request("farm", steps=500))
            await eventually(lambda: idle.current and idle.current.steps_done >= 2, "sampling")
            assert await engine.cancel(job.id)
            (done,) = await engine.wait([job])
            await eventually(lambda: idle.interrupted_tasks, "an interrupt")
            return done

    done = asyncio.run(main())
    assert done.state is JobState.CANCELLED
    assert idle.interrupted_tasks == [idle.jobs[0].task_id]
    assert busy.interrupted_tasks == [] and busy.current is not None  # the other host untouched


def test_a_killed_job_resumes_on_the_host_that_has_it(
    tmp_path: Path, hosts: tuple[FakeServer, FakeServer], jobhost_type: None
) -> None:
    FakeJobHost().install(hosts[0])
    h2 = FakeJobHost().install(hosts[1])
    h2.add("job-7", {"prompt": "a red fox", "seed": 77})
    toml = (
        f'[backends.h1]\ntype = "jobhost"\nbase_url = "{hosts[0].url}"\n'
        f'[backends.h2]\ntype = "jobhost"\nbase_url = "{hosts[1].url}"\n'
        '[backends.farm]\ntype = "pool"\nmembers = ["h1", "h2"]\n'
    )
    dead_pid = int(
        subprocess.run(
            [sys.executable, "-c", "import os; print(os.getpid())"],
            capture_output=True, text=True, check=True,
        ).stdout
    )  # fmt: skip
    orphan = Job(
        request=request("farm", seed=77),
        state=JobState.RUNNING,
        remote_id="h2:job-7",
        pid=dead_pid,
        started_at=1.0,
    )
    log = JobLog(tmp_path / "state" / "jobs.sqlite3").open()
    log.record([orphan])
    log.close()

    async def main() -> list[Job]:
        async with httpx.AsyncClient() as http:
            engine = make_engine(tmp_path, toml, http)
            resumed = await engine.start()
            done = await engine.wait(resumed)
            await engine.flush()
            return done

    (job,) = asyncio.run(main())
    assert job.id == orphan.id and job.state is JobState.DONE, job.error_message
    assert hosts[0].requests == []  # nothing asked of the other host, nothing paid twice
    assert not hosts[1].requests_to("POST", "/jobs")
    assert len(hosts[1].requests_to("GET", "/jobs/job-7")) == 2
    assert sidecar(job)["provider"]["pool_member"] == "h2"


def test_a_pool_job_records_the_member_in_its_remote_id(
    tmp_path: Path, hosts: tuple[FakeServer, FakeServer], jobhost_type: None
) -> None:
    h1, _ = FakeJobHost().install(hosts[0]), FakeJobHost().install(hosts[1])
    h1.add("job-1", {"prompt": "someone else's", "seed": 1})  # h1 is busy: the job goes to h2
    toml = (
        f'[backends.h1]\ntype = "jobhost"\nbase_url = "{hosts[0].url}"\n'
        f'[backends.h2]\ntype = "jobhost"\nbase_url = "{hosts[1].url}"\n'
        '[backends.farm]\ntype = "pool"\nmembers = ["h1", "h2"]\n'
    )

    async def main() -> list[Job]:
        async with httpx.AsyncClient() as http:
            engine = make_engine(tmp_path, toml, http)
            return await run_jobs(engine, request("farm"))

    (job,) = asyncio.run(main())
    assert job.state is JobState.DONE and job.remote_id == "h2:job-1"
    logged = JobLog(tmp_path / "state" / "jobs.sqlite3").open().get(job.id)
    assert logged is not None and logged.remote_id == "h2:job-1"


@pytest.mark.parametrize(
    ("members", "words"),
    [
        ('["gpu1", "nope"]', "unknown backend 'nope'"),
        ('["gpu1", "mock"]', "member 'mock' is a mock instance, which cannot report its queue"),
        ('["farm"]', "pool 'farm' lists itself"),
    ],
)
def test_pool_config_problems_are_reported_before_sending(
    tmp_path: Path, fake_server: FakeServer, members: str, words: str
) -> None:
    toml = (
        f'[backends.gpu1]\ntype = "a1111"\nbase_url = "{fake_server.url}"\n'
        '[backends.mock]\ntype = "mock"\n'
        f'[backends.farm]\ntype = "pool"\nmembers = {members}\n'
    )

    async def main() -> None:
        async with httpx.AsyncClient() as http:
            engine = make_engine(tmp_path, toml, http)
            readiness = engine.backend("farm").readiness()
            assert readiness is not None and words in readiness
            await engine.start()
            engine.submit(request("farm"))

    with pytest.raises(ConfigError) as info:  # a config problem: exit 2, nothing sent
        asyncio.run(main())
    assert words in info.value.message
    assert fake_server.requests == []


def test_a_request_a_member_cannot_make_is_refused_naming_it(
    tmp_path: Path, hosts: tuple[FakeServer, FakeServer], jobhost_type: None
) -> None:
    toml = (
        f'[backends.gpu1]\ntype = "a1111"\nbase_url = "{hosts[0].url}"\n'
        f'[backends.h2]\ntype = "jobhost"\nbase_url = "{hosts[1].url}"\n'
        '[backends.farm]\ntype = "pool"\nmembers = ["gpu1", "h2"]\n'
    )

    async def main(**changes: object) -> list[tuple[str, str]]:
        async with httpx.AsyncClient() as http:
            engine = make_engine(tmp_path, toml, http)
            try:
                engine.submit(request("farm", **changes))  # type: ignore[arg-type]
            except RequestError as exc:
                return exc.fields
            raise AssertionError("accepted")

    ((field, size),) = asyncio.run(main(width=100))
    assert field == "size" and "pool 'farm': gpu1: sizes must be multiples of 8" in size
    ((field, negative),) = asyncio.run(main(negative="blurry"))
    assert "pool member 'h2' (jobhost) takes no negative prompt" in negative
    assert hosts[0].requests == [] and hosts[1].requests == []


def test_a_pool_without_an_engine_attachment_says_so() -> None:
    pool = PoolBackend("farm", PoolBackend.parse_options({"members": ["gpu1"]}))
    problem = pool.readiness()
    assert problem is not None and "was not attached to an engine" in problem
    with pytest.raises(ImagenError) as info:
        pool.members()
    assert info.value.code is ErrorCode.INTERNAL
