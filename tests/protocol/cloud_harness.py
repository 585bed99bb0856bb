"""Running one cloud backend instance through the real Engine against a loopback fake.

`engine_for(tmp_path, type, options, env=...)` writes a config with one `[backends.cloud]`
instance, and builds the Engine with a history store, a job log and an injected
`httpx.AsyncClient`; `run(engine, request)` submits, waits and returns the job with every
event it published. Retries back off in hundredths of a second (Retry-After still wins).
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Mapping
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

INSTANCE = "cloud"
WAIT_S = 30.0


@dataclass
class Outcome:
    """A finished job and the events published for it, in order."""

    job: Job
    events: list[JobEvent] = field(default_factory=list)

    def kinds(self) -> list[EventKind]:
        return [e.kind for e in self.events]

    def of(self, kind: EventKind) -> list[JobEvent]:
        return [e for e in self.events if e.kind == kind]


def engine_for(
    tmp_path: Path,
    type_name: str,
    options: Mapping[str, Any],
    *,
    env: Mapping[str, str],
    retries: int = 3,
) -> Rig:
    """An Engine whose default backend is one `type_name` instance with `options`."""
    lines = [
        'default_backend = "cloud"',
        f"[backends.{INSTANCE}]",
        f"type = {json.dumps(type_name)}",
    ]
    lines += [f"{k} = {json.dumps(v)}" for k, v in options.items()]
    cfg = tmp_path / "config.toml"
    cfg.write_text("\n".join(lines) + "\n")
    config = load_config(cfg, env=env)
    store = HistoryStore(
        tmp_path / "out", "{slug}-{n}.{ext}", index_path=tmp_path / "index.sqlite3"
    )
    http = httpx.AsyncClient()
    engine = Engine(
        config,
        store,
        job_log=JobLog(tmp_path / "jobs.sqlite3"),
        retry=RetryPolicy(retries=retries, base_s=0.01, cap_s=0.05),
        env=env,
        http=http,
    )
    return Rig(engine, http)


@dataclass
class Rig:
    """The engine and the HTTP client injected into it (the test closes it)."""

    engine: Engine
    http: httpx.AsyncClient


async def run(
    rig: Rig,
    request: GenerationRequest,
    *,
    cancel_when: Callable[[JobEvent], bool] | None = None,
    cancel_after: threading.Event | None = None,
) -> Outcome:
    """Start the engine, run `request` (one image) to its end and close everything.

    With `cancel_when`, the job is cancelled at the first event it holds true for, once
    `cancel_after` (set by a fake server when the request has arrived) is set too.
    """
    engine = rig.engine
    events: list[JobEvent] = []
    cancelled = asyncio.Event()

    def seen(event: JobEvent) -> None:
        events.append(event)
        if cancel_when is not None and cancel_when(event) and not cancelled.is_set():
            cancelled.set()
            asyncio.get_running_loop().create_task(cancel(event.job.id))

    async def cancel(job_id: str) -> None:
        if cancel_after is not None:
            await asyncio.to_thread(cancel_after.wait, WAIT_S)
        await engine.cancel(job_id)

    await engine.start()
    engine.subscribe(seen)
    try:
        (job,) = engine.submit(request)
        async with asyncio.timeout(WAIT_S):
            (done,) = await engine.wait([job])
        await engine.flush()
    finally:
        await engine.aclose()
        await rig.http.aclose()
    return Outcome(done, events)


def files_under(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]
