"""The engine: the one public entry point shared by the workbench and the headless mode.

`Engine.open()` loads the config and builds the history store and job log (no I/O yet);
`await engine.start()` opens them off the event loop and settles orphans of dead processes.
Jobs run on asyncio under a global cap and a per-instance cap (FIFO per instance). A retryable
failure (429, 5xx, transport) releases both caps while it backs off (with jitter, honouring
Retry-After), so one rate-limited cloud backend never starves a local GPU. Cancelling reaches
the provider; a job owned by another process is cancelled through the job log. Every state
change is published to subscribers at once and written to the job log by one coalescing writer
in a worker thread: nothing here blocks the loop on SQLite or file I/O.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import registry
from .base import Backend, BackendOptions, Capability, JobContext
from .errors import ConfigError, ErrorCode, ImagenError, ImagenTuiError
from .events import EventBus, EventKind, JobEvent
from .imageheader import sniff
from .job_writer import JobWriter
from .models import GenerationRequest, ImageResult, Job, JobState, Problem
from .prepare import Prepared, prepare
from .retry import RetryPolicy

if TYPE_CHECKING:
    import httpx

    from .config import Config
    from .options import BackendInfo
    from .store.history import HistoryStore
    from .store.joblog import JobLog

log = logging.getLogger("imagen_tui")

REMOTE_CANCEL_TIMEOUT_S = 10.0
CANCEL_POLL_S = 0.5
"""How often the owner looks for cancel requests from other processes (they land within 1 s)."""
PROGRESS_PERSIST_INTERVAL_S = 0.25


class Engine:
    """Runs generation jobs and reaches the history; see the module docstring."""

    def __init__(
        self,
        config: Config,
        store: HistoryStore | None = None,
        *,
        job_log: JobLog | None = None,
        retry: RetryPolicy | None = None,
        env: Mapping[str, str] | None = None,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.job_log = job_log
        self.retry_policy = retry or RetryPolicy(retries=config.limits.retries)
        self.events = EventBus()
        self._env = env
        self._global: asyncio.Semaphore | None = None
        self._instance_caps: dict[str, asyncio.Semaphore] = {}
        self._backends: dict[str, Backend] = {}
        self._tasks: dict[str, asyncio.Task[Job]] = {}
        self._jobs: dict[str, Job] = {}
        self._options: dict[str, BackendOptions] = {}
        self._persisted_at: dict[str, float] = {}
        self._http = http
        self._owns_http = http is None
        self._writer: JobWriter | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._started = False

    # -- opening and closing ----------------------------------------------------------------

    @classmethod
    def open(
        cls,
        config_path: str | Path | None = None,
        *,
        overrides: Mapping[str, Any] | None = None,
        env: Mapping[str, str] | None = None,
        http: httpx.AsyncClient | None = None,
    ) -> Engine:
        """Load the config (raises ConfigError with every problem) and wire the store and job
        log at their XDG paths. Opens no file yet: `await start()` does, off the loop."""
        from . import paths
        from .config import load_config
        from .store.history import HistoryStore
        from .store.joblog import JobLog

        config = load_config(
            Path(config_path) if config_path else None, env=env, overrides=overrides
        )
        store = HistoryStore.for_config(config)
        for note in config.warnings:
            log.warning("%s", note)
        return cls(config, store, job_log=JobLog(paths.joblog_path()), env=env, http=http)

    @property
    def history(self) -> HistoryStore:
        """The history store (blocking calls: use it from a worker thread)."""
        if self.store is None:
            raise ImagenTuiError("this engine has no history store")
        return self.store

    async def start(self, *, settle_orphans: bool = True) -> list[Job]:
        """Open the job log off the loop and settle jobs left by dead processes (resumed when
        the backend can resume them by remote id, else marked failed). Returns resumed jobs.
        Raises StoreError when the job log cannot be opened."""
        if self._started:
            return []
        self._started = True
        if self.job_log is not None:
            await asyncio.to_thread(self.job_log.open)
            self._writer = JobWriter(self.job_log)
        return await self.resume_orphans() if settle_orphans else []

    async def aclose(self) -> None:
        """Cancel what still runs, flush the job log and release the HTTP client."""
        self.cancel_all()
        pending = [t for t in self._tasks.values() if not t.done()]
        if pending:
            await asyncio.wait(pending)
        if self._watcher is not None:
            self._watcher.cancel()
            await asyncio.gather(self._watcher, return_exceptions=True)
            self._watcher = None
        for backend in self._backends.values():
            try:
                await backend.aclose()
            except Exception as exc:  # a plugin's cleanup must not stop ours
                log.warning("backend %s did not close cleanly: %r", backend.name, exc)
        if self._writer is not None:
            await self._writer.close()
        if self._http is not None and self._owns_http:
            await self._http.aclose()
            self._http = None

    # -- backends and requests --------------------------------------------------------------

    def backend(self, name: str | None = None) -> Backend:
        """The one Backend object of the configured instance `name` (default: the default)."""
        name = name or self.config.default_backend
        if name not in self._backends:
            instance = self.config.instance(name)
            cls = registry.backend_type(instance.type)
            backend = cls(name, instance.options, self._env)
            backend.attach(self.backend)  # a pool reaches its member instances through this
            self._backends[name] = backend
        return self._backends[name]

    def backends(self) -> list[BackendInfo]:
        """Every configured instance with its type's capabilities, sizes, option specs and
        readiness; an instance whose type fails to load is reported in `readiness`."""
        from .options import BackendInfo, option_specs
        from .schema import set_values

        infos = []
        for name, instance in self.config.backends.items():
            try:
                backend = self.backend(name)
            except ConfigError as exc:
                default = name == self.config.default_backend
                infos.append(
                    BackendInfo(
                        name, instance.type, "", frozenset(), (), (), exc.message, {}, default
                    )
                )
                continue
            infos.append(
                BackendInfo(
                    name=name,
                    type=backend.type_name,
                    description=backend.description,
                    capabilities=frozenset(str(c) for c in backend.capabilities),
                    sizes=backend.sizes,
                    options=option_specs(type(backend)),
                    readiness=backend.readiness(),
                    configured=set_values(backend.options),
                    default=name == self.config.default_backend,
                )
            )
        return infos

    def prepare(self, request: GenerationRequest) -> Prepared:
        """Validate and expand a request without sending anything (see `prepare.prepare`),
        including the daily budgets (`[limits] budget_usd_per_day`, and per instance)."""
        try:
            backend: Backend | None = self.backend(request.backend or None)
        except ConfigError:
            backend = None
        prepared = prepare(self.config, backend, request)
        if prepared.ok and prepared.cost_usd:
            problem = self._over_budget(prepared)
            if problem is not None:
                return dataclasses.replace(prepared, problems=(problem,), requests=())
        return prepared

    def _over_budget(self, prepared: Prepared) -> Problem | None:
        """A "budget" problem when this request's estimate would pass a daily budget: the
        message says the spend so far and how to raise the limit."""
        if self.job_log is None or prepared.cost_usd is None:
            return None
        day = _start_of_today()
        limits = [(self.config.limits.budget_usd_per_day, None, "[limits] budget_usd_per_day")]
        if prepared.options is not None:
            key = f"[backends.{prepared.backend}] budget_usd_per_day"
            limits.append((prepared.options.budget_usd_per_day, prepared.backend, key))
        for budget, backend, key in limits:
            if budget is None:
                continue
            try:
                spent = self.job_log.spent_since(day, backend)
            except ImagenTuiError:
                spent = 0.0
            if spent + prepared.cost_usd > budget + 1e-9:
                where = self.config.source or "your config"
                return Problem(
                    "budget",
                    f"today's spend ${spent:.2f} plus this request's estimate "
                    f"${prepared.cost_usd:.2f} would pass the daily budget of ${budget:.2f}; "
                    f"raise {key} in {where}, or wait until tomorrow",
                )
        return None

    # -- jobs -------------------------------------------------------------------------------

    def submit(self, request: GenerationRequest | Prepared) -> list[Job]:
        """Queue one job per image and start them; returns at once. Raises RequestError (one
        line per problem) when the request is invalid, ImagenError(AUTH_MISSING) when the
        backend is not ready. Call from the running loop, after `start()`."""
        prepared = request if isinstance(request, Prepared) else self.prepare(request)
        prepared.raise_for_problems()
        backend = self.backend(prepared.backend)
        backend.require_ready()
        batch = os.urandom(4).hex()
        jobs = []
        for index, one in enumerate(prepared.requests):
            job = Job(
                request=one,
                batch=batch,
                index=index,
                user_prompt=prepared.user_prompt,
                user_negative=prepared.user_negative,
                seed=one.seed,
                pid=os.getpid(),
                cost_usd=prepared.costs[index] if index < len(prepared.costs) else None,
            )
            jobs.append(self._start(job, backend, prepared.options))
        return jobs

    async def run(self, request: GenerationRequest | Prepared) -> list[Job]:
        """Submit and wait."""
        return await self.wait(self.submit(request))

    async def wait(self, jobs: list[Job]) -> list[Job]:
        """Wait until every given job has finished; returns their final state."""
        tasks = [self._tasks[j.id] for j in jobs if j.id in self._tasks]
        if tasks:
            await asyncio.wait(tasks)
        return [self._jobs.get(j.id, j) for j in jobs]

    def subscribe(self, callback: Callable[[JobEvent], None]) -> Callable[[], None]:
        """Call `callback(event)` on the loop for every job event; returns an unsubscribe."""
        return self.events.subscribe(callback)

    def job(self, job_id: str) -> Job | None:
        return self._jobs.get(job_id)

    def jobs(self) -> list[Job]:
        """This process's jobs, oldest first."""
        return list(self._jobs.values())

    def jobs_changed_since(self, cursor: int | float = 0) -> tuple[list[Job], int]:
        """Jobs of every process changed after `cursor` (0 = all) and the next cursor.
        Blocking (job log): call it from a worker thread."""
        if self.job_log is None:
            return [], int(cursor)
        return self.job_log.changed_since(cursor)

    def list_jobs(self, *, states: set[str] | None = None, limit: int = 200) -> list[Job]:
        """Jobs of every process from the job log, newest first. Blocking."""
        if self.job_log is None:
            return list(reversed(self.jobs()))[:limit]
        return self.job_log.list(states=states, limit=limit)

    async def cancel(self, job_id: str) -> bool:
        """Cancel a queued or running job: here, or by asking its owner through the job log.
        False when no unfinished job has this id."""
        task = self._tasks.get(job_id)
        if task is not None and not task.done():
            task.cancel()
            return True
        if self.job_log is None:
            return False
        return await asyncio.to_thread(self.job_log.request_cancel, job_id)

    def cancel_all(self) -> int:
        count = 0
        for task in self._tasks.values():
            if not task.done():
                task.cancel()
                count += 1
        return count

    async def retry(self, job_id: str) -> Job:
        """Run a finished job's request again (same seed) as a new job; KeyError if unknown."""
        old = self._jobs.get(job_id)
        if old is None and self.job_log is not None:
            old = await asyncio.to_thread(self.job_log.get, job_id)
        if old is None:
            raise KeyError(job_id)
        prepared = self.prepare(old.request)
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
        return self._start(job, self.backend(old.request.backend), prepared.options)

    async def resume_orphans(self) -> list[Job]:
        """Jobs left queued/running by a dead process: resume by remote id, or mark failed."""
        if self.job_log is None:
            return []
        resumed = []
        for job in await asyncio.to_thread(self.job_log.unfinished):
            if job.pid is not None and job.pid != os.getpid() and _alive(job.pid):
                continue
            if job.id in self._jobs:
                continue
            try:
                backend = self.backend(job.request.backend)
                prepared = self.prepare(job.request)
                prepared.raise_for_problems()
            except ImagenTuiError as exc:
                self._finish(job, JobState.FAILED, ImagenError(ErrorCode.INTERNAL, exc.message))
                continue
            if job.remote_id and Capability.RESUME in backend.capabilities:
                job.pid, job.state, job.message = os.getpid(), JobState.QUEUED, "resuming"
                resumed.append(self._start(job, backend, prepared.options))
            else:
                detail = f"its process ({job.pid}) ended before it finished"
                self._finish(job, JobState.FAILED, ImagenError(ErrorCode.CANCELLED, detail))
        if self._writer is not None:
            await self._writer.flush()
        return resumed

    async def flush(self) -> None:
        """Wait until every job change so far is in the job log."""
        if self._writer is not None:
            await self._writer.flush()

    # -- running one job --------------------------------------------------------------------

    def _start(self, job: Job, backend: Backend, options: BackendOptions | None) -> Job:
        self._jobs[job.id] = job
        self._options[job.id] = options or backend.options
        self._persist(job, force=True)
        self.events.publish(EventKind.QUEUED, job)
        self._tasks[job.id] = asyncio.create_task(self._run(job, backend), name=f"job-{job.id}")
        self._watch_cancels()
        return job

    async def _run(self, job: Job, backend: Backend) -> Job:
        ctx = self._context(job, backend)
        try:
            result = await self._attempts(job, backend, ctx)
            await self._save(job, backend, result)
            self._finish(job, JobState.DONE)
        except asyncio.CancelledError:
            if job.started_at is not None:
                await self._remote_cancel(backend, ctx)
            self._finish(job, JobState.CANCELLED, ImagenError(ErrorCode.CANCELLED))
        except ImagenTuiError as exc:
            if isinstance(exc, ImagenError):
                error = _redacted(exc, backend)
            else:  # a StoreError: disk full, read-only, permissions; it names the path
                error = ImagenError(ErrorCode.STORAGE, exc.message)
            self._finish(job, JobState.FAILED, error)
        except Exception as exc:  # a bug in an adapter must not take the engine down
            detail = f"{type(exc).__name__}: {exc}"
            self._finish(job, JobState.FAILED, ImagenError(ErrorCode.INTERNAL, detail))
        finally:
            self._options.pop(job.id, None)
            self._persisted_at.pop(job.id, None)
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
                        if not exc.retryable or not self.retry_policy.should_retry(job.attempts):
                            raise
                        failure = exc
                    await self._back_off(job, failure)  # outside the caps: others may run
        except TimeoutError:
            await self._remote_cancel(backend, ctx)  # stop the provider working (and billing)
            raise ImagenError(ErrorCode.TIMEOUT, f"no image after {timeout:g}s") from None

    async def _attempt(self, job: Job, backend: Backend, ctx: JobContext) -> ImageResult:
        async with self._caps(backend):
            self._mark_running(job)
            if ctx.remote_id and Capability.RESUME in backend.capabilities:
                return await backend.resume(job.request, ctx)
            return await backend.generate(job.request, ctx)

    def _caps(self, backend: Backend) -> _Caps:
        if self._global is None:
            self._global = asyncio.Semaphore(self.config.limits.max_concurrent)
        cap = self._instance_caps.setdefault(
            backend.name, asyncio.Semaphore(backend.options.max_concurrent)
        )
        return _Caps(cap, self._global)

    def _mark_running(self, job: Job) -> None:
        job.state, job.waiting_until, job.message = JobState.RUNNING, None, ""
        job.started_at = job.started_at or time.time()
        self._persist(job, force=True)
        self.events.publish(EventKind.STARTED, job)

    async def _back_off(self, job: Job, exc: ImagenError) -> None:
        delay = self.retry_policy.delay(job.attempts, exc.retry_after)
        job.state, job.waiting_until = JobState.QUEUED, time.time() + delay
        job.message = (
            f"{exc.code}; retry {job.attempts}/{self.retry_policy.retries} in {delay:.1f}s"
        )
        self._persist(job, force=True)
        self.events.publish(EventKind.RETRYING, job)
        await asyncio.sleep(delay)

    async def _save(self, job: Job, backend: Backend, result: ImageResult) -> None:
        header = sniff(result.data)
        if header is None:
            raise ImagenError(
                ErrorCode.NO_IMAGE, f"{backend.name} returned data that is not an image"
            )
        result.mime_type, result.width, result.height = (
            header.mime_type,
            header.width,
            header.height,
        )
        job.seed = result.seed if result.seed is not None else job.request.seed
        if result.cost_usd is not None:  # else keep the estimate
            job.cost_usd = result.cost_usd
        job.progress = 1.0
        job.finished_at = time.time()
        if self.store is None:
            return
        saving = asyncio.ensure_future(
            asyncio.to_thread(self.store.save, job, result, backend.type_name)
        )
        try:
            saved = await asyncio.shield(saving)
        except asyncio.CancelledError:
            saved = await saving  # made (and maybe paid for): keep it rather than half-cancel
        job.output_path = str(saved.path)
        job.sidecar_path = str(saved.sidecar) if saved.sidecar else None

    async def _remote_cancel(self, backend: Backend, ctx: JobContext) -> None:
        if Capability.CANCEL not in backend.capabilities:
            return
        try:
            async with asyncio.timeout(REMOTE_CANCEL_TIMEOUT_S):
                await asyncio.shield(backend.cancel(ctx))
        except (Exception, asyncio.CancelledError):
            pass  # best effort: the local job is cancelled whatever the remote says

    def _finish(self, job: Job, state: JobState, error: ImagenError | None = None) -> None:
        job.state, job.waiting_until = state, None
        job.finished_at = job.finished_at or time.time()
        if error is not None:
            job.error_code, job.error_message = str(error.code), error.message
        self._persist(job, force=True)
        kind = {JobState.DONE: EventKind.DONE, JobState.FAILED: EventKind.FAILED}
        self.events.publish(kind.get(state, EventKind.CANCELLED), job)

    # -- plumbing ---------------------------------------------------------------------------

    def _context(self, job: Job, backend: Backend) -> JobContext:
        def on_progress(fraction: float, message: str) -> None:
            job.progress, job.message = fraction, _scrub(message, backend)
            self._persist(job)
            self.events.publish(EventKind.PROGRESS, job)

        def on_remote_id(remote_id: str) -> asyncio.Future[None]:
            job.remote_id = remote_id
            self._persist(job, force=True)
            return asyncio.ensure_future(self.flush())

        def on_preview(data: bytes) -> None:
            self.events.publish(EventKind.PREVIEW, job, preview=data)

        return JobContext(
            job.id,
            self._options.get(job.id, backend.options),
            on_progress=on_progress,
            on_remote_id=on_remote_id,
            on_preview=on_preview,
            http=self._http_client if backend.needs_http else None,
            remote_id=job.remote_id,
        )

    def _http_client(self) -> httpx.AsyncClient:
        if self._http is None:
            import httpx  # only backends that speak HTTP pay for it

            self._http = httpx.AsyncClient(timeout=httpx.Timeout(60.0, connect=10.0))
        return self._http

    def _persist(self, job: Job, *, force: bool = False) -> None:
        """Queue the job for the job log; progress ticks are throttled."""
        job.updated_at = time.time()
        if self._writer is None:
            return
        now = time.monotonic()
        recent = now - self._persisted_at.get(job.id, 0.0) < PROGRESS_PERSIST_INTERVAL_S
        if recent and not force:
            return
        self._persisted_at[job.id] = now
        self._writer.mark(job)

    def _watch_cancels(self) -> None:
        if self.job_log is not None and (self._watcher is None or self._watcher.done()):
            self._watcher = asyncio.get_running_loop().create_task(self._cancel_watch())

    async def _cancel_watch(self) -> None:
        """Cancel our jobs that another process asked to cancel through the job log."""
        assert self.job_log is not None
        while live := [i for i, t in self._tasks.items() if not t.done()]:
            await asyncio.sleep(CANCEL_POLL_S)
            try:
                asked = await asyncio.to_thread(self.job_log.cancel_requests, live)
            except ImagenTuiError:
                continue  # locked for now: look again next time
            for job_id in asked:
                task = self._tasks.get(job_id)
                if task is not None and not task.done():
                    self._jobs[job_id].cancel_requested = True
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


def _scrub(text: str, backend: Backend) -> str:
    from .adapters.redact import redact

    try:
        secrets = backend.secrets()
    except Exception:  # a broken secrets() must not leak by failing: mask nothing more
        secrets = []
    for secret in secrets:
        text = redact(text, secret)
    return text


def _redacted(exc: ImagenError, backend: Backend) -> ImagenError:
    """`exc` with the backend's credentials cut out of its detail (code etc. kept)."""
    clean = _scrub(exc.detail, backend)
    if clean == exc.detail:
        return exc
    return ImagenError(exc.code, clean, retry_after=exc.retry_after, status=exc.status)


def _start_of_today() -> float:
    """Local midnight as epoch seconds: budgets are per calendar day where the user is."""
    now = time.localtime()
    return time.mktime((now.tm_year, now.tm_mon, now.tm_mday, 0, 0, 0, 0, 0, -1))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
