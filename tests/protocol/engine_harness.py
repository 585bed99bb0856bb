"""Run adapters through the real `Engine` (store, job log, retries, timeouts) in protocol tests."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from imagen_tui.backends.config import load_config
from imagen_tui.backends.engine import Engine
from imagen_tui.backends.events import EventKind, JobEvent
from imagen_tui.backends.models import GenerationRequest, Job
from imagen_tui.backends.retry import RetryPolicy
from imagen_tui.backends.store.history import HistoryStore
from imagen_tui.backends.store.joblog import JobLog

RUN_LIMIT_S = 60.0
"""Every engine run in a protocol test is bounded (a hung test fails instead of stalling)."""


@dataclass
class Run:
    """One finished job and every event it published."""

    job: Job
    events: list[JobEvent] = field(default_factory=list)
    warnings: tuple[str, ...] = ()

    def kinds(self) -> list[EventKind]:
        return [e.kind for e in self.events]

    def previews(self) -> list[bytes]:
        return [e.preview for e in self.events if e.kind is EventKind.PREVIEW and e.preview]

    def sidecar(self) -> dict[str, Any]:
        assert self.job.sidecar_path, self.job.error_message
        return json.loads(Path(self.job.sidecar_path).read_text())


def make_engine(tmp_path: Path, toml: str, env: dict[str, str], *, retries: int = 3) -> Engine:
    """An engine over `toml` with its store and job log under `tmp_path`."""
    cfg = tmp_path / "config.toml"
    tmp_path.mkdir(parents=True, exist_ok=True)
    cfg.write_text(toml)
    store = HistoryStore(
        tmp_path / "out", "{slug}-{n}.{ext}", index_path=tmp_path / "state" / "index.sqlite3"
    )
    return Engine(
        load_config(cfg, env=env),
        store,
        job_log=JobLog(tmp_path / "state" / "jobs.sqlite3"),
        retry=RetryPolicy(retries=retries, base_s=0.01, cap_s=0.05),
        env=env,
        http=httpx.AsyncClient(),
    )


async def run_job(
    engine: Engine,
    request: GenerationRequest,
    on_event: Callable[[Engine, JobEvent], None] | None = None,
) -> Run:
    """Start the engine, submit one image, wait for it, close the engine."""
    events: list[JobEvent] = []

    def record(event: JobEvent) -> None:
        events.append(event)
        if on_event is not None:
            on_event(engine, event)

    await engine.start()
    engine.subscribe(record)
    try:
        prepared = engine.prepare(request)
        (job,) = engine.submit(prepared)
        async with asyncio.timeout(RUN_LIMIT_S):
            (done,) = await engine.wait([job])
        await engine.flush()
    finally:
        client = engine._http  # injected, so the engine leaves closing it to us
        await engine.aclose()
        if client is not None:
            await client.aclose()
    return Run(done, events, prepared.warnings)


def cancel_on_preview(engine: Engine, event: JobEvent) -> None:
    """An `on_event` that cancels the job at its first streamed preview."""
    if event.kind is EventKind.PREVIEW:
        asyncio.get_running_loop().create_task(engine.cancel(event.job.id))


def files_under(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []
