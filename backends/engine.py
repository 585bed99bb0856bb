"""The job runner shared by the TUI and the headless mode.

Jobs run on asyncio under a global cap and a per-instance cap (FIFO per instance). Retryable
failures (429, 5xx, transport) back off with jitter and honour Retry-After; everything else
fails at once. Cancelling a job also asks the backend to stop remotely. Every state change is
published to subscribers and written to the job log, so other processes see it.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import TYPE_CHECKING, Any

from . import registry
from .base import Backend, Capability, JobContext
from .errors import ErrorCode, ImagenError
from .events import EventBus, EventKind
from .models import MAX_SEED, GenerationRequest, ImageResult, Job, JobState
from .retry import RetryPolicy

if TYPE_CHECKING:
    import httpx

    from .config import Config
    from .store.history import HistoryStore

PROGRESS_PERSIST_INTERVAL_S = 0.25
REMOTE_CANCEL_TIMEOUT_S = 10.0


class Engine:
    """Runs generation jobs; the one public entry point for both faces."""

    def __init__(
        self,
        config: Config,
        store: HistoryStore | None = None,
        *,
        retry: RetryPolicy | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.retry = retry or RetryPolicy(retries=config.limits.retries)
        self.events = EventBus()
        self._env = env
        self._global = asyncio.Semaphore(config.limits.max_concurrent)
        self._instance_caps: dict[str, asyncio.Semaphore] = {}
        self._backends: dict[tuple[str, str], Backend] = {}
        self._tasks: dict[str, asyncio.Task[Job]] = {}
        self._jobs: dict[str, Job] = {}
        self._persisted_at: dict[str, float] = {}
        self._http: httpx.AsyncClient | None = None

    # -- public API -------------------------------------------------------------------------

    def backend(self, name: str, overrides: dict[str, Any] | None = None) -> Backend:
        """The backend instance `name`, with per-run option overrides applied."""
        key = (name, repr(sorted((overrides or {}).items())))
        if key not in self._backends:
            instance = self.config.instance(name)
            cls = registry.backend_type(instance.type)
            options = instance.options
            if overrides:
                merged = {**options.model_dump(exclude_unset=True), **overrides}
                options = cls.Options.model_validate(merged)
            self._backends[key] = cls(name, options, self._env)
        return self._backends[key]

    def apply_style(self, request: GenerationRequest) -> GenerationRequest:
        """Wrap the prompt in the request's style and merge its negative prompt."""
        if not request.style:
            return request
        style = self.config.style(request.style)
        prompt = style.apply(request.prompt)
        negative = ", ".join(p for p in (style.negative, request.negative) if p)
        return request.model_copy(update={"prompt": prompt, "negative": negative})

    def submit(self, request: GenerationRequest) -> list[Job]:
        """Queue one job per image of the request and start them; returns at once."""
        backend = self.backend(request.backend, request.options)
        effective = self.apply_style(request)
        batch = os.urandom(4).hex()
        jobs = []
        for index in range(request.count):
            seed = None if request.seed is None else (request.seed + index) % (MAX_SEED + 1)
            job = Job(
                batch=batch,
                index=index,
                request=effective.model_copy(update={"count": 1, "seed": seed}),
                user_prompt=request.prompt,
                user_negative=request.negative,
                pid=os.getpid(),
            )
            jobs.append(self._start(job, backend))
        return jobs

    async def wait(self, jobs: list[Job]) -> list[Job]:
        """Wait until every given job has finished; returns their final state."""
        tasks = [self._tasks[j.id] for j in jobs if j.id in self._tasks]
        if tasks:
            await asyncio.wait(tasks)
        return [self._jobs.get(j.id, j) for j in jobs]

    async def run(self, request: GenerationRequest) -> list[Job]:
        """Submit and wait."""
        return await self.wait(self.submit(request))

    def job(self, job_id: str) -> Job | None:
        return self._jobs.get(job_id)

    def cancel(self, job_id: str) -> bool:
        """Cancel a queued or running job; False when it is not running here."""
        task = self._tasks.get(job_id)
        if task is None or task.done():
            return False
        task.cancel()
        return True

    def cancel_all(self) -> int:
        return sum(self.cancel(job_id) for job_id in list(self._tasks))

    def retry_job(self, job_id: str) -> Job:
        """Run a finished job's request again as a new job."""
        old = self._jobs.get(job_id)
        if old is None and self.store is not None:
            old = self.store.index.get_job(job_id)
        if old is None:
            raise KeyError(job_id)
        job = Job(
            batch=old.batch,
            index=old.index,
            request=old.request,
            user_prompt=old.user_prompt,
            user_negative=old.user_negative,
            pid=os.getpid(),
        )
        return self._start(job, self.backend(old.request.backend, old.request.options))

    async def resume_orphans(self) -> list[Job]:
        """Jobs left queued/running by a dead process: resume by remote id, or mark failed."""
        if self.store is None:
            return []
        resumed = []
        for job in self.store.index.unfinished_jobs():
            if job.pid is not None and job.pid != os.getpid() and _alive(job.pid):
                continue
            try:
                backend = self.backend(job.request.backend, job.request.options)
            except Exception as exc:
                self._finish(job, JobState.FAILED, ImagenError(ErrorCode.INTERNAL, str(exc)))
                continue
            if job.remote_id and Capability.RESUME in backend.capabilities:
                job = job.model_copy(update={"pid": os.getpid(), "state": JobState.QUEUED})
                resumed.append(self._start(job, backend))
            else:
                detail = f"its process ({job.pid}) ended before it finished"
                self._finish(job, JobState.FAILED, ImagenError(ErrorCode.CANCELLED, detail))
        return resumed

    async def aclose(self) -> None:
        """Cancel what still runs and release the HTTP client."""
        self.cancel_all()
        pending = [t for t in self._tasks.values() if not t.done()]
        if pending:
            await asyncio.wait(pending)
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    # -- running one job --------------------------------------------------------------------

    def _start(self, job: Job, backend: Backend) -> Job:
        self._jobs[job.id] = job
        self._persist(job)
        self.events.publish(EventKind.QUEUED, job)
        self._tasks[job.id] = asyncio.create_task(self._run(job, backend), name=f"job-{job.id}")
        return job

    async def _run(self, job: Job, backend: Backend) -> Job:
        cap = self._instance_caps.setdefault(
            backend.name, asyncio.Semaphore(backend.options.max_concurrent)
        )
        ctx = self._context(job, backend)
        try:
            async with cap, self._global:
                job.state, job.started_at = JobState.RUNNING, time.time()
                self._persist(job)
                self.events.publish(EventKind.STARTED, job)
                result = await self._attempts(job, backend, ctx)
                await self._save(job, backend, result)
            self._finish(job, JobState.DONE)
        except asyncio.CancelledError:
            if job.started_at is not None:
                await self._remote_cancel(backend, ctx)
            self._finish(job, JobState.CANCELLED, ImagenError(ErrorCode.CANCELLED))
        except ImagenError as exc:
            self._finish(job, JobState.FAILED, exc)
        except Exception as exc:  # a bug in an adapter must not take the engine down
            detail = f"{type(exc).__name__}: {exc}"
            self._finish(job, JobState.FAILED, ImagenError(ErrorCode.INTERNAL, detail))
        return job

    async def _attempts(self, job: Job, backend: Backend, ctx: JobContext) -> ImageResult:
        timeout = backend.options.timeout_s
        try:
            async with asyncio.timeout(timeout):
                while True:
                    job.attempts += 1
                    try:
                        if ctx.remote_id and Capability.RESUME in backend.capabilities:
                            return await backend.resume(job.request, ctx)
                        return await backend.generate(job.request, ctx)
                    except ImagenError as exc:
                        if not exc.retryable or not self.retry.should_retry(job.attempts):
                            raise
                        await self._back_off(job, exc)
        except TimeoutError:
            raise ImagenError(ErrorCode.TIMEOUT, f"no image after {timeout:g}s") from None

    async def _back_off(self, job: Job, exc: ImagenError) -> None:
        delay = self.retry.delay(job.attempts, exc.retry_after)
        job.message = f"{exc.code}; retry {job.attempts}/{self.retry.retries} in {delay:.1f}s"
        self._persist(job)
        self.events.publish(EventKind.RETRYING, job)
        await asyncio.sleep(delay)

    async def _save(self, job: Job, backend: Backend, result: ImageResult) -> None:
        job.seed = result.seed if result.seed is not None else job.request.seed
        job.cost_usd = result.cost_usd
        job.progress = 1.0
        job.finished_at = time.time()
        if self.store is None:
            return
        saved = await asyncio.to_thread(self.store.write, job, result, backend.type_name)
        job.output_path = str(saved.path)
        job.sidecar_path = str(saved.sidecar) if saved.sidecar else None
        self.store.record(saved)

    async def _remote_cancel(self, backend: Backend, ctx: JobContext) -> None:
        if Capability.CANCEL not in backend.capabilities:
            return
        try:
            async with asyncio.timeout(REMOTE_CANCEL_TIMEOUT_S):
                await asyncio.shield(backend.cancel(ctx))
        except (Exception, asyncio.CancelledError):
            pass  # best effort: the local job is cancelled whatever the remote says

    def _finish(self, job: Job, state: JobState, error: ImagenError | None = None) -> None:
        job.state = state
        job.finished_at = job.finished_at or time.time()
        if error is not None:
            job.error_code, job.error_message = str(error.code), error.message
        self._persist(job, force=True)
        kind = {JobState.DONE: EventKind.DONE, JobState.FAILED: EventKind.FAILED}
        self.events.publish(kind.get(state, EventKind.CANCELLED), job)

    # -- plumbing ---------------------------------------------------------------------------

    def _context(self, job: Job, backend: Backend) -> JobContext:
        def on_progress(fraction: float, message: str) -> None:
            job.progress, job.message = fraction, message
            self._persist(job)
            self.events.publish(EventKind.PROGRESS, job)

        def on_remote_id(remote_id: str) -> None:
            job.remote_id = remote_id
            self._persist(job, force=True)

        http = self._http_client if backend.needs_http else None
        return JobContext(
            job.id,
            on_progress=on_progress,
            on_remote_id=on_remote_id,
            http=http,
            remote_id=job.remote_id,
        )

    def _http_client(self) -> httpx.AsyncClient:
        if self._http is None:
            import httpx  # only backends that speak HTTP pay for it

            self._http = httpx.AsyncClient(timeout=httpx.Timeout(60.0, connect=10.0))
        return self._http

    def _persist(self, job: Job, *, force: bool = False) -> None:
        """Write the job to the log; progress ticks are throttled."""
        if self.store is None:
            return
        now = time.monotonic()
        recent = now - self._persisted_at.get(job.id, 0.0) < PROGRESS_PERSIST_INTERVAL_S
        if recent and not force and job.state is JobState.RUNNING:
            return
        self._persisted_at[job.id] = now
        self.store.record_job(job)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
