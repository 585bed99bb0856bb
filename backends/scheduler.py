"""The engine's asyncio half: jobs as tasks under a global and a per-instance cap.

`Engine` (engine.py) creates one `Scheduler` the first time something runs on a loop. Each job
is a task: attempts within one deadline, each holding both caps only while it runs; a retryable
failure backs off outside the caps; cancelling reaches the provider; cancel requests from other
processes arrive through the job log. Job changes go through the engine's lifecycle methods and
reach the job log through one coalescing writer (`JobWriter`), off the loop.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from . import logs
from .base import Backend, BackendOptions, Capability, JobContext
from .errors import ErrorCode, ImagenError, ImagenTuiError
from .events import EventKind
from .job_writer import JobWriter
from .models import ImageResult, Job, JobState

if TYPE_CHECKING:
    from .engine import Engine

REMOTE_CANCEL_TIMEOUT_S = 10.0
CANCEL_POLL_S = 0.5
"""How often the owner looks for cancel requests from other processes (they land within 1 s)."""


class Scheduler:
    """Runs an engine's jobs on the running event loop; see the module docstring."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._global: asyncio.Semaphore | None = None
        self._instance_caps: dict[str, asyncio.Semaphore] = {}
        self._tasks: dict[str, asyncio.Task[Job]] = {}
        self._writer: JobWriter | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._started = False

    async def start(self, *, settle_orphans: bool) -> list[Job]:
        """See `Engine.start`."""
        if self._started:
            return []
        self._started = True
        engine = self.engine
        if engine.job_log is not None:
            await asyncio.to_thread(engine._open_log)
            self._writer = JobWriter(engine.job_log, engine.warn_log_unwritable)
            engine._record = self._writer.mark
        return await self.resume_orphans() if settle_orphans else []

    async def aclose(self) -> None:
        """Cancel what still runs, close the backends and flush the job log."""
        self.cancel_all()
        pending = [t for t in self._tasks.values() if not t.done()]
        if pending:
            await asyncio.wait(pending)
        if self._watcher is not None:
            self._watcher.cancel()
            await asyncio.gather(self._watcher, return_exceptions=True)
            self._watcher = None
        for backend in self.engine._backends.values():
            try:
                await backend.aclose()
            except Exception as exc:  # a plugin's cleanup must not stop ours
                logs.logger().warning("backend %s did not close cleanly: %r", backend.name, exc)
        if self._writer is not None:
            await self._writer.close()

    def start_job(self, job: Job, backend: Backend, options: BackendOptions | None) -> Job:
        """Queue `job` and run it as a task (call from the running loop)."""
        self.engine._queue(job, backend, options)
        self._tasks[job.id] = asyncio.create_task(self._run(job, backend), name=f"job-{job.id}")
        self._watch_cancels()
        return job

    async def wait(self, jobs: list[Job]) -> None:
        tasks = [self._tasks[j.id] for j in jobs if j.id in self._tasks]
        if tasks:
            await asyncio.wait(tasks)

    async def cancel(self, job_id: str) -> bool:
        """See `Engine.cancel`."""
        task = self._tasks.get(job_id)
        if task is not None and not task.done():
            task.cancel()
            return True
        if self.engine.job_log is None:
            return False
        return await asyncio.to_thread(self.engine.job_log.request_cancel, job_id)

    def cancel_all(self) -> int:
        count = 0
        for task in self._tasks.values():
            if not task.done():
                task.cancel()
                count += 1
        return count

    async def retry(self, job_id: str) -> Job:
        """See `Engine.retry`."""
        engine = self.engine
        old = engine._jobs.get(job_id)
        if old is None and engine.job_log is not None:
            old = await asyncio.to_thread(engine.job_log.get, job_id)
        if old is None:
            raise KeyError(job_id)
        prepared = engine.prepare(old.request)
        prepared.raise_for_problems()
        job = Job(
            request=old.request,
            batch=old.batch,
            index=old.index,
            user_prompt=old.user_prompt,
            user_negative=old.user_negative,
            seed=old.request.seed,
            pid=os.getpid(),
        )
        return self.start_job(job, engine.backend(old.request.backend), prepared.options)

    async def resume_orphans(self) -> list[Job]:
        """See `Engine.resume_orphans`."""
        engine = self.engine
        if engine.job_log is None:
            return []
        unfinished = await asyncio.to_thread(engine.job_log.unfinished)
        resumed = []
        for job, backend, options in engine._settle_orphans(unfinished):
            job.pid, job.state, job.message = os.getpid(), JobState.QUEUED, "resuming"
            resumed.append(self.start_job(job, backend, options))
        await self.flush()
        return resumed

    async def flush(self) -> None:
        if self._writer is not None:
            await self._writer.flush()

    # -- running one job --------------------------------------------------------------------

    async def _run(self, job: Job, backend: Backend) -> Job:
        engine = self.engine
        ctx = engine._context(job, backend, on_remote_id=self._remote_id_durable(job))
        try:
            result = engine._accept(job, backend, await self._attempts(job, backend, ctx))
            await self._save(job, backend, result)
            engine._finish(job, JobState.DONE)
        except asyncio.CancelledError:
            if job.started_at is not None:
                await self._remote_cancel(backend, ctx)
            engine._finish(job, JobState.CANCELLED, ImagenError(ErrorCode.CANCELLED))
        except Exception as exc:
            engine._finish(job, JobState.FAILED, engine._failure(exc, backend))
        finally:
            engine._forget(job)
        return job

    async def _attempts(self, job: Job, backend: Backend, ctx: JobContext) -> ImageResult:
        """Attempts within one deadline; each holds both caps only while it runs."""
        timeout = ctx.options.timeout_s
        try:
            async with asyncio.timeout(timeout):
                while True:
                    job.attempts += 1
                    try:
                        return await self._attempt(job, backend, ctx)
                    except ImagenError as exc:
                        policy = self.engine.retry_policy
                        if not exc.retryable or not policy.should_retry(job.attempts):
                            raise
                        failure = exc
                    await self._back_off(job, failure)  # outside the caps: others may run
        except TimeoutError:
            await self._remote_cancel(backend, ctx)  # stop the provider working (and billing)
            raise ImagenError(ErrorCode.TIMEOUT, f"no image after {timeout:g}s") from None

    async def _attempt(self, job: Job, backend: Backend, ctx: JobContext) -> ImageResult:
        async with self._caps(backend):
            self.engine._mark_running(job)
            if ctx.remote_id and Capability.RESUME in backend.capabilities:
                return await backend.resume(job.request, ctx)
            return await backend.generate(job.request, ctx)

    def _caps(self, backend: Backend) -> _Caps:
        if self._global is None:
            self._global = asyncio.Semaphore(self.engine.config.limits.max_concurrent)
        cap = self._instance_caps.setdefault(
            backend.name, asyncio.Semaphore(backend.options.max_concurrent)
        )
        return _Caps(cap, self._global)

    async def _back_off(self, job: Job, exc: ImagenError) -> None:
        policy = self.engine.retry_policy
        delay = policy.delay(job.attempts, exc.retry_after)
        job.state, job.waiting_until = JobState.QUEUED, time.time() + delay
        job.message = f"{exc.code}; retry {job.attempts}/{policy.retries} in {delay:.1f}s"
        self.engine._persist(job, force=True)
        self.engine.events.publish(EventKind.RETRYING, job)
        await asyncio.sleep(delay)

    async def _save(self, job: Job, backend: Backend, result: ImageResult) -> None:
        saving = asyncio.ensure_future(
            asyncio.to_thread(self.engine._store_result, job, backend, result)
        )
        try:
            await asyncio.shield(saving)
        except asyncio.CancelledError:
            await saving  # made (and maybe paid for): keep it rather than half-cancel

    async def _remote_cancel(self, backend: Backend, ctx: JobContext) -> None:
        if Capability.CANCEL not in backend.capabilities:
            return
        try:
            async with asyncio.timeout(REMOTE_CANCEL_TIMEOUT_S):
                await asyncio.shield(backend.cancel(ctx))
        except (Exception, asyncio.CancelledError):
            pass  # best effort: the local job is cancelled whatever the remote says

    def _remote_id_durable(self, job: Job) -> Callable[[str], asyncio.Future[None]]:
        """What `ctx.set_remote_id` calls: record the id, and a future done once it is in
        the job log."""

        def on_remote_id(remote_id: str) -> asyncio.Future[None]:
            job.remote_id = remote_id
            self.engine._persist(job, force=True)
            return asyncio.ensure_future(self.flush())

        return on_remote_id

    def _watch_cancels(self) -> None:
        if self.engine.job_log is not None and (self._watcher is None or self._watcher.done()):
            self._watcher = asyncio.get_running_loop().create_task(self._cancel_watch())

    async def _cancel_watch(self) -> None:
        """Cancel our jobs that another process asked to cancel through the job log."""
        job_log = self.engine.job_log
        assert job_log is not None
        while live := [i for i, t in self._tasks.items() if not t.done()]:
            await asyncio.sleep(CANCEL_POLL_S)
            try:
                asked = await asyncio.to_thread(job_log.cancel_requests, live)
            except ImagenTuiError:
                continue  # locked for now: look again next time
            for job_id in asked:
                task = self._tasks.get(job_id)
                if task is not None and not task.done():
                    self.engine._jobs[job_id].cancel_requested = True
                    task.cancel()


class _Caps:
    """Both semaphores for one attempt: the instance's (FIFO), then the global one."""

    def __init__(self, instance: asyncio.Semaphore, global_: asyncio.Semaphore) -> None:
        self._instance, self._global = instance, global_

    async def __aenter__(self) -> None:
        await self._instance.acquire()
        try:
            await self._global.acquire()
        except BaseException:
            self._instance.release()
            raise

    async def __aexit__(self, *exc: object) -> None:
        self._global.release()
        self._instance.release()
