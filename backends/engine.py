"""The engine: the one public entry point shared by the workbench and the headless mode.

`Engine.open()` loads the config and builds the history store and job log (no I/O yet);
`await engine.start()` opens them off the event loop and settles orphans of dead processes.
Jobs run on asyncio (`scheduler.Scheduler`, imported on first use) under a global cap and a
per-instance cap (FIFO per instance). A retryable failure (429, 5xx, transport) releases both
caps while it backs off (with jitter, honouring Retry-After), so one rate-limited cloud backend
never starves a local GPU. Cancelling reaches the provider; a job owned by another process is
cancelled through the job log. Every state change is published to subscribers at once and
written to the job log by one coalescing writer in a worker thread: nothing here blocks the
loop on SQLite or file I/O.

This module holds what needs no event loop: configuration, backends, `prepare`, budgets and a
job's lifecycle (queued, running, saved, finished) with its events and job-log writes. A single
quick local job (the mock, drawn in milliseconds) can run through the same lifecycle in the
calling thread (`start_inline`, `run_inline`): a headless `--once` then never imports asyncio,
whose start-up alone costs ~70 ms.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import logs, registry
from .base import Backend, BackendOptions, Capability, JobContext
from .errors import ConfigError, ErrorCode, ImagenError, ImagenTuiError
from .events import EventBus, EventKind, JobEvent
from .imageheader import sniff
from .models import GenerationRequest, ImageResult, Job, JobState, Problem
from .prepare import Prepared, prepare

if TYPE_CHECKING:
    import httpx

    from .config import Config
    from .options import BackendInfo
    from .retry import RetryPolicy
    from .scheduler import Scheduler
    from .store.history import HistoryStore
    from .store.joblog import JobLog

PROGRESS_PERSIST_INTERVAL_S = 0.25
INLINE_MAX_PIXELS = 2048 * 2048
"""The largest image run inline: bigger mock renders take long enough that a cancel from
another process (noticed within a second on the loop) should be able to reach them."""


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
        self._retry_policy = retry
        self.events = EventBus()
        self._env = env
        self._backends: dict[str, Backend] = {}
        self._jobs: dict[str, Job] = {}
        self._options: dict[str, BackendOptions] = {}
        self._persisted_at: dict[str, float] = {}
        self._http = http
        self._owns_http = http is None
        self._scheduler: Scheduler | None = None
        self._record: Callable[[Job], None] | None = None
        """Where job changes go: the scheduler's writer, or (inline) the job log at once."""
        self._log_warned = False
        self._inline_started = False
        self._log_open = False

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
            logs.logger().warning("%s", note)
        return cls(config, store, job_log=JobLog(paths.joblog_path()), env=env, http=http)

    @property
    def history(self) -> HistoryStore:
        """The history store (blocking calls: use it from a worker thread)."""
        if self.store is None:
            raise ImagenTuiError("this engine has no history store")
        return self.store

    @property
    def retry_policy(self) -> RetryPolicy:
        """How retryable failures are retried (`[limits] retries`, backoff with jitter)."""
        if self._retry_policy is None:
            from .retry import RetryPolicy

            self._retry_policy = RetryPolicy(retries=self.config.limits.retries)
        return self._retry_policy

    @property
    def _runner(self) -> Scheduler:
        if self._scheduler is None:
            from .scheduler import Scheduler  # asyncio: only when something runs on a loop

            self._scheduler = Scheduler(self)
        return self._scheduler

    async def start(self, *, settle_orphans: bool = True) -> list[Job]:
        """Open the job log off the loop and settle jobs left by dead processes (resumed when
        the backend can resume them by remote id, else marked failed). Returns resumed jobs.
        Raises StoreError when the job log cannot be opened."""
        return await self._runner.start(settle_orphans=settle_orphans)

    async def aclose(self) -> None:
        """Cancel what still runs, flush the job log and release the HTTP client."""
        if self._scheduler is not None:
            await self._scheduler.aclose()
            self._scheduler, self._record = None, None  # a later start() begins afresh
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
        limits: list[tuple[float | None, str | None, str]] = [
            (self.config.limits.budget_usd_per_day, None, "[limits] budget_usd_per_day")
        ]
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
        prepared, backend, jobs = self._new_jobs(request)
        return [self._runner.start_job(job, backend, prepared.options) for job in jobs]

    def _new_jobs(
        self, request: GenerationRequest | Prepared
    ) -> tuple[Prepared, Backend, list[Job]]:
        """One Job per image of a checked, ready request (see `submit` for the errors)."""
        prepared = request if isinstance(request, Prepared) else self.prepare(request)
        prepared.raise_for_problems()
        backend = self.backend(prepared.backend)
        backend.require_ready()
        batch = os.urandom(4).hex()
        jobs = []
        for index, one in enumerate(prepared.requests):
            jobs.append(
                Job(
                    request=one,
                    batch=batch,
                    index=index,
                    user_prompt=prepared.user_prompt,
                    user_negative=prepared.user_negative,
                    seed=one.seed,
                    pid=os.getpid(),
                    cost_usd=prepared.costs[index] if index < len(prepared.costs) else None,
                )
            )
        return prepared, backend, jobs

    async def run(self, request: GenerationRequest | Prepared) -> list[Job]:
        """Submit and wait."""
        return await self.wait(self.submit(request))

    async def wait(self, jobs: list[Job]) -> list[Job]:
        """Wait until every given job has finished; returns their final state."""
        if self._scheduler is not None:
            await self._scheduler.wait(jobs)
        return [self._jobs.get(j.id, j) for j in jobs]

    def subscribe(self, callback: Callable[[JobEvent], None]) -> Callable[[], None]:
        """Call `callback(event)` for every job event (on the loop, or inline in the thread
        that runs the job); returns an unsubscribe."""
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
        return await self._runner.cancel(job_id)

    def cancel_all(self) -> int:
        """Cancel every job of this engine still queued or running; how many."""
        return self._scheduler.cancel_all() if self._scheduler is not None else 0

    async def retry(self, job_id: str) -> Job:
        """Run a finished job's request again (same seed) as a new job; KeyError if unknown."""
        return await self._runner.retry(job_id)

    async def resume_orphans(self) -> list[Job]:
        """Jobs left queued/running by a dead process: resume by remote id, or mark failed."""
        return await self._runner.resume_orphans()

    async def flush(self) -> None:
        """Wait until every job change so far is in the job log."""
        if self._scheduler is not None:
            await self._scheduler.flush()

    # -- one quick local job without an event loop ------------------------------------------

    def runs_inline(self, prepared: Prepared) -> bool:
        """True when `prepared` is one image its backend makes locally at once (the mock
        with no latency and no simulated failure, at most INLINE_MAX_PIXELS): `run_inline`
        can make it in this thread with no event loop."""
        if not prepared.ok or len(prepared.requests) != 1 or prepared.options is None:
            return False
        one = prepared.requests[0]
        if one.width * one.height > INLINE_MAX_PIXELS:
            return False
        try:
            backend = self.backend(prepared.backend)
        except ConfigError:
            return False
        return backend.runs_inline(one, prepared.options)

    def start_inline(self) -> bool:
        """Open the job log in this thread and settle jobs of dead processes, for
        `run_inline`. False, with nothing resumed, when such a job can be resumed by its
        backend: that needs the loop, so use `await start()` instead. Raises StoreError when
        the job log cannot be opened."""
        if self._scheduler is not None:
            return False
        if not self._inline_started:
            self._open_log()
            self._record = self._record_now
            if self.job_log is not None and self._settle_orphans(self.job_log.unfinished()):
                return False
            self._inline_started = True
        return True

    def run_inline(self, prepared: Prepared) -> list[Job]:
        """Make the one image of `prepared` in this thread, through the same lifecycle,
        events and job log as a scheduled job (see `runs_inline`). Signals are held while the
        image is saved, so an interrupt never leaves half an image: it is raised (as
        KeyboardInterrupt) once the job has finished. Raises what `submit` raises."""
        if not self.runs_inline(prepared):
            raise ImagenTuiError("this request needs the event loop: use submit()")
        if not self.start_inline():
            raise ImagenTuiError("jobs run on the loop here (or an orphan needs it): use submit()")
        prepared, backend, jobs = self._new_jobs(prepared)
        for job in jobs:
            self._queue(job, backend, prepared.options)
            self._run_inline(job, backend)
        return [self._jobs[j.id] for j in jobs]

    def _run_inline(self, job: Job, backend: Backend) -> None:
        ctx = self._context(job, backend, on_remote_id=self._remote_id_now(job))
        try:
            job.attempts += 1
            self._mark_running(job)
            result = self._accept(job, backend, backend.generate_inline(job.request, ctx))
            with _signals_held():
                self._store_result(job, backend, result)
                self._finish(job, JobState.DONE)
        except KeyboardInterrupt:
            if not job.state.finished:
                self._finish(job, JobState.CANCELLED, ImagenError(ErrorCode.CANCELLED))
            raise
        except Exception as exc:
            self._finish(job, JobState.FAILED, self._failure(exc, backend))
        finally:
            self._forget(job)

    def _remote_id_now(self, job: Job) -> Callable[[str], None]:
        def on_remote_id(remote_id: str) -> None:
            job.remote_id = remote_id
            self._persist(job, force=True)  # written before this returns: durable at once

        return on_remote_id

    def _record_now(self, job: Job) -> None:
        """Write one job change to the job log in this thread (the inline path)."""
        if self.job_log is None:
            return
        try:
            self.job_log.record([job.copy()])
        except ImagenTuiError as exc:
            self.warn_log_unwritable(exc)

    def warn_log_unwritable(self, exc: ImagenTuiError) -> None:
        """A job log that cannot be written must not stop generation: say so once."""
        if not self._log_warned:
            self._log_warned = True
            logs.logger().warning("%s", exc.message)

    # -- a job's lifecycle (shared by the scheduler and the inline path) --------------------

    def _open_log(self) -> None:
        """Open the job log once (blocking; StoreError when it cannot be opened)."""
        if self.job_log is not None and not self._log_open:
            self.job_log.open()
            self._log_open = True

    def _settle_orphans(
        self, unfinished: list[Job]
    ) -> list[tuple[Job, Backend, BackendOptions | None]]:
        """Mark jobs of dead processes failed, except those their backend can resume by
        remote id: those are returned, untouched, for the loop to resume."""
        resumable = []
        for job in unfinished:
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
                resumable.append((job, backend, prepared.options))
            else:
                detail = f"its process ({job.pid}) ended before it finished"
                self._finish(job, JobState.FAILED, ImagenError(ErrorCode.CANCELLED, detail))
        return resumable

    def _queue(self, job: Job, backend: Backend, options: BackendOptions | None) -> None:
        self._jobs[job.id] = job
        self._options[job.id] = options or backend.options
        self._persist(job, force=True)
        self.events.publish(EventKind.QUEUED, job)

    def _mark_running(self, job: Job) -> None:
        job.state, job.waiting_until, job.message = JobState.RUNNING, None, ""
        job.started_at = job.started_at or time.time()
        self._persist(job, force=True)
        self.events.publish(EventKind.STARTED, job)

    def _accept(self, job: Job, backend: Backend, result: ImageResult) -> ImageResult:
        """Check that an adapter's bytes are an image and take size, type, seed and cost from
        the result; raises ImagenError(NO_IMAGE) when they are not an image."""
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
        return result

    def _store_result(self, job: Job, backend: Backend, result: ImageResult) -> None:
        """Save an accepted result into the history (blocking); StoreError naming the path."""
        if self.store is None:
            return
        saved = self.store.save(job, result, backend.type_name)
        job.output_path = str(saved.path)
        job.sidecar_path = str(saved.sidecar) if saved.sidecar else None

    def _failure(self, exc: Exception, backend: Backend) -> ImagenError:
        """The error a failed job records for `exc`, with the backend's credentials cut out."""
        if isinstance(exc, ImagenError):
            return _redacted(exc, backend)
        if isinstance(exc, ImagenTuiError):  # a StoreError: disk full, read-only; names the path
            return ImagenError(ErrorCode.STORAGE, exc.message)
        # a bug in an adapter must not take the engine down
        return ImagenError(ErrorCode.INTERNAL, f"{type(exc).__name__}: {exc}")

    def _finish(self, job: Job, state: JobState, error: ImagenError | None = None) -> None:
        job.state, job.waiting_until = state, None
        job.finished_at = job.finished_at or time.time()
        if error is not None:
            job.error_code, job.error_message = str(error.code), error.message
        self._persist(job, force=True)
        kind = {JobState.DONE: EventKind.DONE, JobState.FAILED: EventKind.FAILED}
        self.events.publish(kind.get(state, EventKind.CANCELLED), job)

    def _forget(self, job: Job) -> None:
        self._options.pop(job.id, None)
        self._persisted_at.pop(job.id, None)

    def _context(
        self,
        job: Job,
        backend: Backend,
        *,
        on_remote_id: Callable[[str], Any],
    ) -> JobContext:
        def on_progress(fraction: float, message: str) -> None:
            job.progress, job.message = fraction, _scrub(message, backend)
            self._persist(job)
            self.events.publish(EventKind.PROGRESS, job)

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
        """Send the job's state to the job log; progress ticks are throttled."""
        job.updated_at = time.time()
        if self._record is None:
            return
        now = time.monotonic()
        recent = now - self._persisted_at.get(job.id, 0.0) < PROGRESS_PERSIST_INTERVAL_S
        if recent and not force:
            return
        self._persisted_at[job.id] = now
        self._record(job)


@contextmanager
def _signals_held() -> Iterator[None]:
    """Hold SIGINT, SIGTERM and SIGHUP (delivered on exit) while a file lands, where POSIX
    allows."""
    mask = getattr(signal, "pthread_sigmask", None)
    if mask is None:
        yield
        return
    old = mask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM, signal.SIGHUP})
    try:
        yield
    finally:
        mask(signal.SIG_SETMASK, old)


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
