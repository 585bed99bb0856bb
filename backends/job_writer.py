"""One coalescing writer that takes job-log writes off the event loop.

The engine marks a job dirty on every change; a single task writes the latest snapshot of every
dirty job in one transaction, in a worker thread. While another process holds the database's
write lock, the loop keeps running and the writes simply land later. `flush()` waits until
everything marked so far is durable (e.g. a remote id before the adapter relies on it).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING

from .errors import ImagenTuiError

if TYPE_CHECKING:
    from .models import Job
    from .store.joblog import JobLog


class JobWriter:
    """Coalesces job snapshots and writes them to `log` from a worker thread; a write that
    fails goes to `on_error` (the engine says so once, and generation goes on)."""

    def __init__(self, log: JobLog, on_error: Callable[[ImagenTuiError], None]) -> None:
        self._log = log
        self._on_error = on_error
        self._dirty: dict[str, Job] = {}
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None

    def mark(self, job: Job) -> None:
        """Queue the job's current state (a copy) for writing."""
        self._dirty[job.id] = job.copy()
        self._idle.clear()
        self._wake.set()
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="job-writer")

    async def flush(self) -> None:
        """Wait until every job marked so far is written (or its write failed and was reported)."""
        if self._dirty or not self._idle.is_set():
            self._wake.set()
            await self._idle.wait()

    async def close(self) -> None:
        await self.flush()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            batch, self._dirty = list(self._dirty.values()), {}
            if batch:
                try:
                    await asyncio.to_thread(self._log.record, batch)
                except ImagenTuiError as exc:
                    self._on_error(exc)
            if not self._dirty:
                self._idle.set()
