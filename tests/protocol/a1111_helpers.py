"""Shared set-up for the a1111 and pool protocol tests: a real Engine over loopback fakes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import httpx

from imagen_tui.backends.config import load_config
from imagen_tui.backends.engine import Engine
from imagen_tui.backends.events import JobEvent
from imagen_tui.backends.models import GenerationRequest, Job
from imagen_tui.backends.retry import RetryPolicy
from imagen_tui.backends.store.history import HistoryStore
from imagen_tui.backends.store.joblog import JobLog

T = TypeVar("T")
WAIT_STEP_S = 0.01
WAIT_LIMIT_S = 10.0


def make_engine(
    tmp_path: Path,
    toml: str,
    http: httpx.AsyncClient,
    *,
    env: Mapping[str, str] | None = None,
    retries: int = 3,
) -> Engine:
    """An Engine with a history store and job log under `tmp_path`; `toml` holds the backends.

    Every instance is attached to the engine (`Backend.attach`), as the engine will do itself.
    """
    cfg = tmp_path / "config.toml"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text(toml)
    config = load_config(cfg, env=env or {})
    store = HistoryStore(
        tmp_path / "out", "{slug}-{seed}.{ext}", index_path=tmp_path / "state" / "index.sqlite3"
    )
    engine = Engine(
        config,
        store,
        job_log=JobLog(tmp_path / "state" / "jobs.sqlite3"),
        retry=RetryPolicy(retries=retries, base_s=0.01, cap_s=0.05),
        env=env or {},
        http=http,
    )
    for name in config.backends:
        engine.backend(name).attach(engine.backend)
    return engine


def request(backend: str, prompt: str = "a red fox", **kw: Any) -> GenerationRequest:
    kw.setdefault("width", 64)
    kw.setdefault("height", 64)
    return GenerationRequest(prompt=prompt, backend=backend, **kw)


async def run_jobs(
    engine: Engine, req: GenerationRequest, events: list[JobEvent] | None = None
) -> list[Job]:
    """Start the engine, run the request to the end and flush the job log."""
    await engine.start()
    if events is not None:
        engine.subscribe(events.append)
    jobs = await engine.run(req)
    await engine.flush()
    return jobs


async def eventually(check: Callable[[], T], what: str) -> T:
    """Wait (bounded, not timed) until `check()` is truthy; fail naming `what`."""
    for _ in range(int(WAIT_LIMIT_S / WAIT_STEP_S)):
        value = check()
        if value:
            return value
        await asyncio.sleep(WAIT_STEP_S)
    raise AssertionError(f"never happened: {what}")


def sidecar(job: Job) -> dict[str, Any]:
    assert job.sidecar_path is not None
    return json.loads(Path(job.sidecar_path).read_text())


def files_under(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]
