"""Running cloud adapters through the real `Engine` against a fake provider on 127.0.0.1.

`CloudRig` writes a config with one instance, builds the engine with a history store, a job log
and an injected `httpx.AsyncClient`, and runs jobs while collecting their events. Retries back
off for milliseconds (`RetryPolicy(base_s=0.01)`) unless the provider's Retry-After says more.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
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

WAIT_S = 20.0
"""Upper bound for any wait on an event in these tests (a bound, never an assertion)."""


@dataclass
class CloudRig:
    """One backend instance named `name` of `type_name`, configured by `options` (TOML values)."""

    tmp: Path
    type_name: str
    options: dict[str, Any]
    env: dict[str, str]
    name: str = "cloud"
    retries: int = 3
    events: list[JobEvent] = field(default_factory=list)

    @property
    def out(self) -> Path:
        return self.tmp / "out"

    @property
    def joblog_path(self) -> Path:
        return self.tmp / "state" / "jobs.sqlite3"

    def config_text(self) -> str:
        lines = [f"[backends.{self.name}]", f'type = "{self.type_name}"']
        lines += [f"{key} = {json.dumps(value)}" for key, value in self.options.items()]
        return "\n".join(lines) + "\n"

    def engine(self, http: httpx.AsyncClient) -> Engine:
        cfg = self.tmp / "config.toml"
        cfg.write_text(self.config_text())
        config = load_config(cfg, env=self.env)
        store = HistoryStore(
            self.out, "{slug}-{seed}.{ext}", index_path=self.tmp / "state" / "index.sqlite3"
        )
        self.joblog_path.parent.mkdir(parents=True, exist_ok=True)
        engine = Engine(
            config,
            store,
            job_log=JobLog(self.joblog_path),
            env=self.env,
            http=http,
            retry=RetryPolicy(retries=self.retries, base_s=0.01, cap_s=0.05),
        )
        engine.subscribe(self.events.append)
        return engine

    def request(self, prompt: str = "a red fox", **kw: Any) -> GenerationRequest:
        return GenerationRequest(prompt=prompt, backend=self.name, **kw)

    def run(
        self,
        request: GenerationRequest,
        during: Callable[[Engine, Job], Awaitable[None]] | None = None,
    ) -> Job:
        """Submit one request, optionally act on its job while it runs, and wait for the end."""

        async def main() -> Job:
            async with httpx.AsyncClient(timeout=10.0) as http:
                engine = self.engine(http)
                await engine.start()
                try:
                    (job,) = engine.submit(request)
                    if during is not None:
                        await during(engine, job)
                    (done,) = await engine.wait([job])
                    await engine.flush()
                    return done
                finally:
                    await engine.aclose()

        return asyncio.run(main())

    def kinds(self) -> list[EventKind]:
        return [e.kind for e in self.events]

    def progress(self) -> list[tuple[float, str]]:
        return [
            (e.job.progress, e.job.message) for e in self.events if e.kind == EventKind.PROGRESS
        ]

    def files(self) -> list[Path]:
        return sorted(p for p in self.out.rglob("*") if p.is_file()) if self.out.exists() else []


async def until(check: Callable[[], bool], what: str) -> None:
    """Wait (at most WAIT_S) until `check()` holds; fail the test naming `what` otherwise."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_S
    while not check():
        if loop.time() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        await asyncio.sleep(0.01)
