"""The `a1111` backend: Automatic1111 / Forge / SD.Next over `/sdapi/v1` (protocol facts and
sources in `a1111_protocol`).

One job is one blocking `POST /sdapi/v1/txt2img` (or `img2img` with the first reference as
its init image). While it runs, a second connection polls `GET /sdapi/v1/progress` every
`poll_s` seconds for the step count and the live preview. Each job carries its own
`force_task_id`, so the progress (and an interrupt) is only taken for *our* job: A1111 runs one
job at a time and holds the others on a lock, and its `POST /sdapi/v1/interrupt` stops whatever
runs. A job cancelled while it still waits on that lock is interrupted as soon as it starts
(the server would otherwise run it anyway). A1111 has no job id to resume by: a job lost with
its process is not resumed.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from ..base import ApiOptions, Backend, BackendOptions, Capability, JobContext
from ..errors import ErrorCode, ImagenError
from ..models import GenerationRequest, ImageResult
from ..schema import bounds
from ..text import one_line
from .a1111_protocol import (
    INTERRUPT_PATH,
    MODELS_PATH,
    PROGRESS_PATH,
    Progress,
    basic_auth,
    build_payload,
    check_image,
    find_model,
    model_names,
    parse_progress,
    parse_result,
    size_problem,
)

if TYPE_CHECKING:
    import httpx

PROBE_TIMEOUT_S = 10.0
"""Per request: progress polls, model listing, interrupt."""
CONNECT_TIMEOUT_S = 10.0
API_FIELDS = (
    "sampler_name",
    "scheduler",
    "cfg_scale",
    "distilled_cfg_scale",
    "denoising_strength",
    "resize_mode",
    "enable_hr",
    "hr_scale",
    "hr_upscaler",
    "override_settings_restore_afterwards",
)


class A1111Options(ApiOptions):
    """Options of an Automatic1111 / Forge / SD.Next server (field names are the API's own)."""

    base_url: str = "http://127.0.0.1:7860"
    """Where the web UI listens; it must run with --api."""
    api_key_env: str | None = None
    """Env var holding user:password for a server started with --api-auth (unset = no auth)."""
    model: str | None = None
    """Checkpoint to use (title, name or hash as /sdapi/v1/sd-models lists it); unset = loaded."""
    override_settings_restore_afterwards: bool = False
    """With model: load the server's previous checkpoint back after each job (slow: every job
    then loads `model` again); off keeps `model` loaded for the next job."""
    max_concurrent: int = field(default=1, metadata=bounds(ge=1, le=64))
    """Jobs sent at once; the server runs one at a time and holds the others."""
    timeout_s: float = field(default=600.0, metadata=bounds(gt=0))
    """Give up on one image after this many seconds."""
    sampler_name: str | None = None
    """Sampler, e.g. "Euler a" or "DPM++ 2M" (unset = the server's default)."""
    scheduler: str | None = None
    """Schedule type (A1111 >= 1.9), e.g. "Karras" (unset = automatic)."""
    cfg_scale: float | None = field(default=None, metadata=bounds(ge=0, le=30))
    """Prompt guidance (unset = the server's default; use 1 for Flux on Forge)."""
    distilled_cfg_scale: float | None = field(default=None, metadata=bounds(ge=0, le=30))
    """Forge only: Flux distilled guidance (Forge's default is 3.5)."""
    denoising_strength: float = field(default=0.75, metadata=bounds(ge=0, le=1))
    """img2img (and hires fix): how far to move away from the reference image."""
    resize_mode: int = field(default=0, metadata=bounds(ge=0, le=3))
    """img2img: 0 resize, 1 crop and resize, 2 resize and fill, 3 latent upscale."""
    enable_hr: bool = False
    """txt2img: hires fix (a second, upscaled pass)."""
    hr_scale: float | None = field(default=None, metadata=bounds(gt=1, le=4))
    """With enable_hr: the upscale factor (the server's default is 2)."""
    hr_upscaler: str | None = None
    """With enable_hr: the upscaler, e.g. "Latent" or "R-ESRGAN 4x+"."""
    preview: bool = True
    """Fetch the live preview image while it samples."""
    poll_s: float = field(default=1.0, metadata=bounds(ge=0.05, le=10))
    """Seconds between progress polls."""


class A1111Backend(Backend):
    """An Automatic1111-compatible server; see the module docstring."""

    type_name = "a1111"
    description = (
        "Automatic1111 / Forge / SD.Next (/sdapi/v1): txt2img, img2img, live preview, interrupt."
    )
    Options = A1111Options
    capabilities = frozenset(
        {
            Capability.TXT2IMG,
            Capability.REFERENCES,
            Capability.NEGATIVE,
            Capability.SEED,
            Capability.STEPS,
            Capability.PROGRESS,
            Capability.CANCEL,
            Capability.PREVIEW,
        }
    )
    needs_http = True

    def __init__(
        self, name: str, options: BackendOptions, env: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(name, options, env)
        self._tasks: dict[str, str] = {}
        """Job id -> the force_task_id of its request, while it may still run on the server."""
        self._models_seen: set[str] = set()
        self._background: set[asyncio.Task[None]] = set()

    # -- before anything is sent --------------------------------------------------------------

    def readiness(self) -> str | None:
        problem = super().readiness()
        if problem:
            return problem
        try:
            basic_auth(self.api_key())
        except ImagenError as exc:
            return exc.detail
        return None

    def normalize(self, request: GenerationRequest, options: BackendOptions) -> GenerationRequest:
        """Refuse sizes that are not multiples of 8 and more than one reference image."""
        problem = size_problem(request.width, request.height)
        if problem:
            raise ImagenError(ErrorCode.BAD_REQUEST, f"{self.name}: {problem}")
        if len(request.references) > 1:
            raise ImagenError(
                ErrorCode.BAD_REQUEST,
                f"{self.name} takes one reference image (img2img), not {len(request.references)}",
            )
        return request

    def estimate_cost(self, request: GenerationRequest, options: BackendOptions) -> float | None:
        return 0.0  # your own GPU

    async def probe(self, http: httpx.AsyncClient) -> str | None:
        """None when the server lists its checkpoints (and has `model`, when set)."""
        problem = self.readiness()
        if problem:
            return problem
        opts = cast(A1111Options, self.options)
        try:
            listed = await self._get(http, opts, MODELS_PATH)
        except ImagenError as exc:
            return exc.detail
        if opts.model and not find_model(opts.model, listed):
            return self._missing_model(opts, listed)
        return None

    async def queue_depth(self, http: httpx.AsyncClient) -> int:
        """1 while the server runs a job, else 0. A1111 does not tell how many requests wait
        on its lock; `pool` adds the jobs it sent there itself."""
        opts = cast(A1111Options, self.options)
        progress = parse_progress(await self._get(http, opts, PROGRESS_PATH, preview=False))
        return 1 if progress.busy else 0

    # -- one job ----------------------------------------------------------------------------

    async def generate(self, request: GenerationRequest, ctx: JobContext) -> ImageResult:
        """POST the job and poll its progress until the answer comes back."""
        opts = cast(A1111Options, ctx.options)
        http = ctx.http
        await self._check_model(http, opts)
        init = None
        if request.references:
            init = await asyncio.to_thread(_read_reference, request.references[0])
        task_id = f"imagen-tui-{ctx.job_id}-{secrets.token_hex(4)}"
        path, body = build_payload(
            request, _api_fields(opts), task_id=task_id, model=opts.model, init_image=init
        )
        self._tasks[ctx.job_id] = task_id
        watch = _Watch(task_id)
        try:
            answer = await self._post_watching(http, opts, path, body, watch, ctx)
        except asyncio.CancelledError:
            # A user's cancel or the engine's timeout: stop the server's work either way (the
            # engine's own cancel() call after this finds nothing left to do).
            self._spawn(self.cancel(ctx))
            raise
        except BaseException:
            self._tasks.pop(ctx.job_id, None)
            raise
        self._tasks.pop(ctx.job_id, None)
        if watch.interrupted or await self._ended_interrupted(http, opts):
            raise ImagenError(
                ErrorCode.CANCELLED,
                f"{self.name}: interrupted on the server (from its web UI?); "
                "the unfinished image was not kept",
            )
        result = await asyncio.to_thread(parse_result, answer, _url(opts, path))
        ctx.progress(1.0, "done")
        return ImageResult(
            data=result.data,
            seed=result.seed if result.seed is not None else request.seed,
            cost_usd=0.0,
            model=result.model or opts.model,
            metadata={
                "mode": "img2img" if init is not None else "txt2img",
                "steps": result.info.get("steps"),
                "task_id": task_id,
                "info": result.info,
            },
        )

    async def cancel(self, ctx: JobContext) -> None:
        """Interrupt this job on the server: now if it runs, else as soon as it starts."""
        task_id = self._tasks.pop(ctx.job_id, None)
        if task_id is None:
            return
        opts = cast(A1111Options, ctx.options)
        http = ctx.http
        now = await self._progress(http, opts, preview=False)
        if now.current_task == task_id or (now.current_task is None and now.busy):
            await self._post(http, opts, INTERRUPT_PATH)
        elif now.current_task is not None:  # another job runs; ours waits on the server's lock
            self._spawn(self._interrupt_when_started(http, opts, task_id))

    # -- I/O helpers ------------------------------------------------------------------------

    async def _post_watching(
        self,
        http: httpx.AsyncClient,
        opts: A1111Options,
        path: str,
        body: dict[str, Any],
        watch: _Watch,
        ctx: JobContext,
    ) -> Any:
        """The POST's JSON answer; progress (and previews) reported while it is pending."""
        post = asyncio.ensure_future(self._post(http, opts, path, body, timeout=opts.timeout_s))
        try:
            while True:
                done, _ = await asyncio.wait({post}, timeout=opts.poll_s)
                if done:
                    return post.result()
                await self._report(http, opts, watch, ctx)
        finally:
            if not post.done():
                post.cancel()
                await asyncio.gather(post, return_exceptions=True)

    async def _report(
        self, http: httpx.AsyncClient, opts: A1111Options, watch: _Watch, ctx: JobContext
    ) -> None:
        """One progress poll, noted in `watch`. Poll failures are ignored: the POST itself
        reports a server that went away."""
        try:
            now = await self._progress(http, opts, preview=opts.preview)
        except ImagenError:
            return
        if now.current_task is not None and now.current_task != watch.task_id:
            ctx.progress(0.0, "waiting: the server is busy with another job")
            return
        if not now.busy:
            return
        watch.interrupted = watch.interrupted or now.interrupted
        ctx.progress(now.fraction, now.message())
        if opts.preview and now.preview and now.preview != watch.last_preview:
            ctx.preview(now.preview)
            watch.last_preview = now.preview

    async def _ended_interrupted(self, http: httpx.AsyncClient, opts: A1111Options) -> bool:
        """Whether the server, now idle, says its last job (ours, just answered) was
        interrupted: A1111 clears the flag only when the next job begins."""
        try:
            now = await self._progress(http, opts, preview=False)
        except ImagenError:
            return False
        return now.interrupted and not now.busy

    async def _interrupt_when_started(
        self, http: httpx.AsyncClient, opts: A1111Options, task_id: str
    ) -> None:
        """Poll until our (cancelled) task starts, then interrupt it; give up after timeout_s."""
        deadline = time.monotonic() + opts.timeout_s
        while time.monotonic() < deadline:
            await asyncio.sleep(opts.poll_s)
            now = await self._progress(http, opts, preview=False)
            if now.current_task == task_id:
                await self._post(http, opts, INTERRUPT_PATH)
                return

    async def _check_model(self, http: httpx.AsyncClient, opts: A1111Options) -> None:
        """Refuse, before generating, a `model` the server does not have (listed once)."""
        if not opts.model or opts.model in self._models_seen:
            return
        listed = await self._get(http, opts, MODELS_PATH)
        if not find_model(opts.model, listed):
            raise ImagenError(ErrorCode.BAD_REQUEST, self._missing_model(opts, listed))
        self._models_seen.add(opts.model)

    def _missing_model(self, opts: A1111Options, listed: Any) -> str:
        names = ", ".join(one_line(n, 80) for n in model_names(listed)[:12]) or "none"
        return f"checkpoint {opts.model!r} is not on {_url(opts, '')}; it has: {names}"

    async def _progress(
        self, http: httpx.AsyncClient, opts: A1111Options, *, preview: bool
    ) -> Progress:
        return parse_progress(await self._get(http, opts, PROGRESS_PATH, preview=preview))

    async def _get(
        self, http: httpx.AsyncClient, opts: A1111Options, path: str, *, preview: bool = False
    ) -> Any:
        from ..http import map_transport_errors, raise_for_status, response_json

        url = _url(opts, path)
        params = {"skip_current_image": "false" if preview else "true"}
        with map_transport_errors(url):
            response = await http.get(
                url,
                params=params if path == PROGRESS_PATH else None,
                auth=self._auth(),
                timeout=_timeout(PROBE_TIMEOUT_S),
            )
        raise_for_status(response)
        return response_json(response, url)

    async def _post(
        self,
        http: httpx.AsyncClient,
        opts: A1111Options,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        timeout: float = PROBE_TIMEOUT_S,
    ) -> Any:
        from ..http import map_transport_errors, raise_for_status, response_json

        url = _url(opts, path)
        with map_transport_errors(url):
            response = await http.post(
                url, json=body if body is not None else {}, auth=self._auth(),
                timeout=_timeout(timeout),
            )  # fmt: skip
        raise_for_status(response)
        return response_json(response, url) if response.content else None

    def _auth(self) -> Any:
        pair = basic_auth(self.api_key())
        if pair is None:
            return None
        import httpx

        return httpx.BasicAuth(*pair)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run best-effort remote work (an interrupt) past the job's own end."""
        task = asyncio.ensure_future(_quietly(work))
        self._background.add(task)
        task.add_done_callback(self._background.discard)


@dataclass
class _Watch:
    """What the progress polls of one job have seen."""

    task_id: str
    last_preview: bytes | None = None
    interrupted: bool = False


def _api_fields(opts: A1111Options) -> dict[str, Any]:
    return {name: getattr(opts, name) for name in API_FIELDS}


def _url(opts: A1111Options, path: str) -> str:
    return opts.base_url.rstrip("/") + path


def _timeout(seconds: float) -> Any:
    import httpx

    return httpx.Timeout(seconds, connect=min(seconds, CONNECT_TIMEOUT_S))


def _read_reference(path: Path) -> bytes:
    """The bytes of an img2img init image; BAD_REQUEST naming the file when it is unusable."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        why = one_line(exc.strerror or exc, 80)
        raise ImagenError(
            ErrorCode.BAD_REQUEST, f"reference {Path(path).name} cannot be read: {why}"
        ) from None
    try:
        check_image(data, f"reference {Path(path).name}")
    except ImagenError as exc:
        raise ImagenError(ErrorCode.BAD_REQUEST, exc.detail) from None
    return data


async def _quietly(work: Coroutine[Any, Any, None]) -> None:
    with contextlib.suppress(Exception):  # best effort: the job has already ended for the user
        await work
