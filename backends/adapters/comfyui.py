"""The `comfyui` backend: a ComfyUI server over its HTTP + websocket API.

One job = one prompt (comfyanonymous/ComfyUI `server.py`, checked 2026-11-29; see
`shared/reference/providers.md` §4):

1. reference images go up with `POST /upload/image` (named by content hash: re-uploads dedupe);
2. a prompt id is chosen here and recorded with `ctx.set_remote_id` *before* anything is sent,
   so a crash or a retry finds the run again instead of starting a second one;
3. the websocket `/ws?clientId=<per-job id>` is opened, then `POST /prompt {"prompt", "client_id",
   "prompt_id"}`; frames give step progress, previews and the end of the run;
4. the result comes from `GET /history/{id}` (written only after `executing` with `node: null`)
   and `GET /view`. Without a websocket (a proxy that drops upgrades, a dropped socket) the
   history is polled instead.

Cancel removes the prompt from the queue when it is pending and interrupts it by id when it is
running; it never touches a prompt that is not ours. Resume looks the id up in history, then in
the queue, and submits the same prompt again under the same id only when the server has neither.

The websocket client is `websockets` (asyncio); HTTP goes through the engine's `ctx.http`.
"""

from __future__ import annotations

import asyncio
import hashlib
import mimetypes
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal, cast

import httpx
import websockets

from ..base import Backend, BackendOptions, Capability, JobContext
from ..errors import ErrorCode, ImagenError
from ..http import map_transport_errors, poll, raise_for_status, redact_url, response_json
from ..image_bytes import verify_image
from ..models import MAX_SEED, GenerationRequest, ImageResult
from ..schema import bounds, field_error
from .comfyui_messages import (
    OutputImage,
    RunTracker,
    decode_text_frame,
    history_entry,
    history_images,
    pick_image,
    preview_image,
    queue_length,
    queue_position,
)
from .comfyui_workflow import Workflow, fill_workflow, load_workflow

SIZE_STEP = 8  # latent sizes are multiples of 8 pixels
WS_OPEN_TIMEOUT_S = 10.0
WS_CLOSE_TIMEOUT_S = 2.0  # a cancelled job closes its socket without waiting long
WS_MAX_FRAME_BYTES = 32 * 1024 * 1024  # previews of large images exceed websockets' 1 MiB default
HISTORY_FIRST_POLL_S = 0.1
CANCEL_LOOKS = 3
CANCEL_LOOK_S = 0.2

State = Literal["done", "running", "pending", "gone"]


class ComfyUIOptions(BackendOptions):
    """Options of a `comfyui` instance."""

    base_url: str = "http://127.0.0.1:8188"
    """Where ComfyUI listens (the address of its web UI)."""
    workflow: Path | None = None
    """API-format workflow template with {{placeholders}}; the built-in txt2img when unset."""
    checkpoint: str | None = None
    """Model file for {{checkpoint}}, e.g. sd_xl_base_1.0.safetensors (the built-in needs one)."""
    steps: int = field(default=20, metadata=bounds(ge=1, le=500))
    """Sampler steps when a job sets none ({{steps}})."""
    cfg: float = field(default=7.0, metadata=bounds(ge=0.0, le=100.0))
    """Classifier-free guidance scale ({{cfg}})."""
    sampler: str = "euler"
    """KSampler sampler_name ({{sampler}}), e.g. euler, dpmpp_2m."""
    scheduler: str = "normal"
    """KSampler scheduler ({{scheduler}}), e.g. normal, karras."""
    poll_s: float = field(default=1.0, metadata=bounds(gt=0.0, le=60.0))
    """Longest wait between history polls when the websocket is not available."""

    def __post_init__(self) -> None:
        if not self.base_url.startswith(("http://", "https://")):
            raise field_error("base_url", f"{self.base_url!r} must start with http:// or https://")
        self.base_url = self.base_url.rstrip("/")
        if self.workflow is not None:
            self.workflow = Path(self.workflow).expanduser()
            try:
                load_workflow(self.workflow)
            except ImagenError as exc:
                raise field_error("workflow", exc.detail) from None


@dataclass(frozen=True, slots=True)
class _Run:
    """One prompt ready to send: the filled graph and what the result should record."""

    graph: dict[str, Any]
    workflow: Workflow
    seed: int | None
    checkpoint: str | None


class ComfyUIBackend(Backend):
    type_name: ClassVar[str] = "comfyui"
    description: ClassVar[str] = "a ComfyUI server: workflow templates, live steps and previews"
    Options: ClassVar[type[BackendOptions]] = ComfyUIOptions
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {
            Capability.TXT2IMG,
            Capability.REFERENCES,
            Capability.NEGATIVE,
            Capability.SEED,
            Capability.STEPS,
            Capability.PROGRESS,
            Capability.CANCEL,
            Capability.RESUME,
            Capability.PREVIEW,
        }
    )
    needs_http: ClassVar[bool] = True

    # -- the contract -------------------------------------------------------------------------

    def readiness(self) -> str | None:
        opts = self._typed(self.options)
        if opts.workflow is None and not opts.checkpoint:
            return "set checkpoint (a model file name) or workflow (a template file)"
        return None

    def normalize(self, request: GenerationRequest, options: BackendOptions) -> GenerationRequest:
        """Sizes snap to the nearest multiple of 8 pixels (ComfyUI latents), at least 64."""
        width, height = _snap(request.width), _snap(request.height)
        if (width, height) == (request.width, request.height):
            return request
        return request.replace(width=width, height=height)

    def estimate_cost(self, request: GenerationRequest, options: BackendOptions) -> float | None:
        return 0.0  # a local server: no provider bill

    async def queue_depth(self, http: httpx.AsyncClient) -> int:
        """Prompts the server runs or holds, everyone's (`GET /queue`); for `pool`."""
        base = self._typed(self.options).base_url
        return queue_length(await self._get_json(http, f"{base}/queue"))

    async def generate(self, request: GenerationRequest, ctx: JobContext) -> ImageResult:
        opts = self._typed(ctx.options)
        run = await self._prepare(request, opts, ctx.http)
        prompt_id = str(uuid.uuid4())
        await _remember(ctx, prompt_id)
        return await self._submit_and_follow(run, prompt_id, opts, ctx)

    async def resume(self, request: GenerationRequest, ctx: JobContext) -> ImageResult:
        if not ctx.remote_id:
            return await self.generate(request, ctx)
        opts, prompt_id = self._typed(ctx.options), ctx.remote_id
        state, entry = await self._state(ctx.http, opts.base_url, prompt_id)
        if state == "gone":  # never reached the server, or it restarted: send it again
            run = await self._prepare(request, opts, ctx.http)
            return await self._submit_and_follow(run, prompt_id, opts, ctx)
        run = await self._prepare(request, opts, ctx.http, upload=False)
        if entry is None:
            ctx.progress(0.0, f"{state} on the server (resumed)")
            entry = await self._await_history(ctx.http, opts, prompt_id)
        return await self._result(ctx.http, opts, run, prompt_id, history_images(entry, "ComfyUI"))

    async def aclose(self) -> None:
        """Finish closing the progress websockets of finished jobs."""
        await drain_sockets()

    async def cancel(self, ctx: JobContext) -> None:
        """Drop our prompt if it is still queued; interrupt it by id if it runs.

        A job cancelled while its `POST /prompt` is in flight may reach the queue just after
        the first look, so an id found nowhere is looked for again, CANCEL_LOOKS times.
        """
        if not ctx.remote_id:
            return
        opts, prompt_id = self._typed(ctx.options), ctx.remote_id
        for look in range(CANCEL_LOOKS):
            where = await self._queue_state(ctx.http, opts.base_url, prompt_id)
            if where == "pending":
                await self._post(ctx.http, f"{opts.base_url}/queue", {"delete": [prompt_id]})
                return
            if where == "running":
                await self._post(ctx.http, f"{opts.base_url}/interrupt", {"prompt_id": prompt_id})
                return
            if await self._history(ctx.http, opts.base_url, prompt_id) is not None:
                return  # already finished: nothing to stop
            if look + 1 < CANCEL_LOOKS:
                await asyncio.sleep(CANCEL_LOOK_S)

    # -- preparing ----------------------------------------------------------------------------

    async def _prepare(
        self,
        request: GenerationRequest,
        opts: ComfyUIOptions,
        http: httpx.AsyncClient,
        *,
        upload: bool = True,
    ) -> _Run:
        workflow = await asyncio.to_thread(load_workflow, opts.workflow)
        slots = workflow.reference_slots
        if len(request.references) != slots:
            raise workflow.fail(
                f"takes {slots} reference image(s) ({{{{ref0}}}}…), got {len(request.references)}"
            )
        if "checkpoint" in workflow.placeholders and not opts.checkpoint:
            raise workflow.fail("uses {{checkpoint}} but the backend sets no checkpoint")
        names = []
        for path in request.references:
            names.append(await self._upload(http, opts.base_url, path) if upload else path.name)
        seed = request.seed if request.seed is not None else secrets.randbelow(MAX_SEED + 1)
        graph = fill_workflow(workflow, _values(request, opts, seed, names))
        used_seed = seed if "seed" in workflow.placeholders else None
        return _Run(graph, workflow, used_seed, opts.checkpoint)

    async def _upload(self, http: httpx.AsyncClient, base: str, path: Path) -> str:
        """Upload one reference image; its name on the server (content-addressed)."""
        try:
            data = await asyncio.to_thread(path.read_bytes)
        except OSError as exc:
            why = exc.strerror or type(exc).__name__
            raise ImagenError(
                ErrorCode.BAD_REQUEST, f"reference image {path} cannot be read ({why})"
            ) from None
        name = f"imagen-tui-{hashlib.sha256(data).hexdigest()[:20]}{path.suffix.lower()}"
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        url = f"{base}/upload/image"
        with map_transport_errors(url):
            response = await http.post(
                url,
                files={"image": (name, data, mime)},
                data={"type": "input", "overwrite": "true"},
            )
        raise_for_status(response)
        body = response_json(response, url)
        uploaded = body.get("name") if isinstance(body, dict) else None
        if not isinstance(uploaded, str) or not uploaded:
            raise ImagenError(ErrorCode.UNAVAILABLE, f"{url} answered without a file name")
        subfolder = body.get("subfolder") or ""
        return f"{subfolder}/{uploaded}" if subfolder else uploaded

    # -- running ------------------------------------------------------------------------------

    async def _submit_and_follow(
        self, run: _Run, prompt_id: str, opts: ComfyUIOptions, ctx: JobContext
    ) -> ImageResult:
        client_id = uuid.uuid4().hex
        tracker = RunTracker(prompt_id, run.graph)
        socket = await _open_socket(opts.base_url, client_id)
        try:
            accepted = await self._submit(ctx.http, opts.base_url, run.graph, client_id, prompt_id)
            if accepted != prompt_id:  # a server too old to take our id: follow its own
                prompt_id = tracker.prompt_id = accepted
                await _remember(ctx, accepted)
            ctx.progress(0.0, "queued")
            if socket is not None:
                await _follow(socket, tracker, ctx)
        finally:
            if socket is not None:
                _close_later(socket)
        if tracker.error is not None:
            raise tracker.error
        entry = await self._await_history(ctx.http, opts, prompt_id)
        images = history_images(entry, "ComfyUI") or tracker.images
        return await self._result(ctx.http, opts, run, prompt_id, images)

    async def _submit(
        self,
        http: httpx.AsyncClient,
        base: str,
        graph: dict[str, Any],
        client_id: str,
        prompt_id: str,
    ) -> str:
        """Queue the prompt; the id the server runs it under (ours, on any current ComfyUI)."""
        url = f"{base}/prompt"
        body = {"prompt": graph, "client_id": client_id, "prompt_id": prompt_id}
        with map_transport_errors(url):
            response = await http.post(url, json=body)
        raise_for_status(response)
        answer = response_json(response, url)
        accepted = answer.get("prompt_id") if isinstance(answer, dict) else None
        if not isinstance(accepted, str) or not accepted:
            raise ImagenError(
                ErrorCode.UNAVAILABLE, f"{redact_url(url)} answered without a prompt_id"
            )
        return accepted

    async def _await_history(
        self, http: httpx.AsyncClient, opts: ComfyUIOptions, prompt_id: str
    ) -> Mapping[str, Any]:
        """Poll until the run is in history; a prompt the server lost is `unavailable`."""

        async def check() -> tuple[State, Mapping[str, Any] | None]:
            return await self._state(http, opts.base_url, prompt_id)

        def settled(found: tuple[State, Mapping[str, Any] | None]) -> bool:
            return found[0] in ("done", "gone")

        state, entry = await poll(check, settled, every=HISTORY_FIRST_POLL_S, max_every=opts.poll_s)
        if entry is None:
            raise ImagenError(
                ErrorCode.UNAVAILABLE,
                f"prompt {prompt_id} is neither queued nor in the history of {opts.base_url} "
                "(server restarted or queue cleared)",
            )
        return entry

    async def _state(
        self, http: httpx.AsyncClient, base: str, prompt_id: str
    ) -> tuple[State, Mapping[str, Any] | None]:
        """Where the prompt is: history first, then the queue, then history again (a run may
        finish between the two reads)."""
        entry = await self._history(http, base, prompt_id)
        if entry is not None:
            return "done", entry
        where = await self._queue_state(http, base, prompt_id)
        if where is not None:
            return where, None
        entry = await self._history(http, base, prompt_id)
        return ("done", entry) if entry is not None else ("gone", None)

    async def _history(
        self, http: httpx.AsyncClient, base: str, prompt_id: str
    ) -> Mapping[str, Any] | None:
        return history_entry(await self._get_json(http, f"{base}/history/{prompt_id}"), prompt_id)

    async def _queue_state(
        self, http: httpx.AsyncClient, base: str, prompt_id: str
    ) -> Literal["running", "pending"] | None:
        return queue_position(await self._get_json(http, f"{base}/queue"), prompt_id)  # type: ignore[return-value]

    async def _result(
        self,
        http: httpx.AsyncClient,
        opts: ComfyUIOptions,
        run: _Run,
        prompt_id: str,
        images: list[OutputImage],
    ) -> ImageResult:
        image = pick_image(images, f"prompt {prompt_id}")
        url = f"{opts.base_url}/view"
        with map_transport_errors(url):
            response = await http.get(url, params=image.query())
        if response.status_code == 404:
            raise ImagenError(ErrorCode.NO_IMAGE, f"{url} has no file {image.filename!r}")
        raise_for_status(response)
        header = await asyncio.to_thread(verify_image, response.content, redact_url(url))
        return ImageResult(
            data=response.content,
            mime_type=header.mime_type,
            seed=run.seed,
            model=run.checkpoint,
            metadata={
                "prompt_id": prompt_id,
                "workflow": run.workflow.source,
                "filename": image.filename,
                "subfolder": image.subfolder,
            },
        )

    # -- plumbing -----------------------------------------------------------------------------

    async def _get_json(self, http: httpx.AsyncClient, url: str) -> Any:
        with map_transport_errors(url):
            response = await http.get(url)
        raise_for_status(response)
        return response_json(response, url)

    async def _post(self, http: httpx.AsyncClient, url: str, body: Mapping[str, Any]) -> None:
        with map_transport_errors(url):
            response = await http.post(url, json=body)
        raise_for_status(response)

    def _typed(self, options: BackendOptions) -> ComfyUIOptions:
        """This job's options (the engine merges `-o` overrides into the instance's)."""
        return (
            options if isinstance(options, ComfyUIOptions) else cast(ComfyUIOptions, self.options)
        )


async def _remember(ctx: JobContext, prompt_id: str) -> None:
    """Record the prompt id and wait until it is durable in the job log, before it is sent."""
    await ctx.set_remote_id(prompt_id)


_closing: dict[asyncio.Task[None], websockets.ClientConnection] = {}


def _close_later(socket: websockets.ClientConnection) -> None:
    """Close the socket without holding up the job: the result never depends on the close
    handshake, which a busy server may take up to WS_CLOSE_TIMEOUT_S to answer. The engine's
    `aclose()` waits for these (`drain_sockets`), so none is left open at exit."""
    task = asyncio.ensure_future(socket.close())
    _closing[task] = socket
    task.add_done_callback(lambda done: _closing.pop(done, None))


async def drain_sockets(timeout: float = WS_CLOSE_TIMEOUT_S) -> None:
    """Wait for the background closes of this loop; abort the sockets still closing after
    `timeout` seconds."""
    loop = asyncio.get_running_loop()
    mine = {t: s for t, s in _closing.items() if t.get_loop() is loop}
    if not mine:
        return
    _, pending = await asyncio.wait(list(mine), timeout=timeout)
    for task in pending:
        task.cancel()
        transport = getattr(mine[task], "transport", None)
        if transport is not None:
            transport.abort()
    if pending:
        await asyncio.gather(*pending, return_exceptions=True)


async def _open_socket(base: str, client_id: str) -> websockets.ClientConnection | None:
    """The run's websocket, or None when it cannot be had (history polling takes over)."""
    url = "ws" + base.removeprefix("http") + f"/ws?clientId={client_id}"
    try:
        return await websockets.connect(
            url,
            open_timeout=WS_OPEN_TIMEOUT_S,
            close_timeout=WS_CLOSE_TIMEOUT_S,
            max_size=WS_MAX_FRAME_BYTES,
        )
    except (OSError, TimeoutError, websockets.InvalidURI, websockets.InvalidHandshake):
        return None


async def _follow(
    socket: websockets.ClientConnection, tracker: RunTracker, ctx: JobContext
) -> None:
    """Read frames until the run ends (tracker.finished) or the socket closes."""
    try:
        async for message in socket:
            if isinstance(message, bytes):
                image = preview_image(message)
                if image is not None:
                    ctx.preview(image)
                continue
            decoded = decode_text_frame(message)
            if decoded is None:
                continue
            update = tracker.feed(*decoded)
            if update is not None:
                ctx.progress(*update)
            if tracker.finished:
                return
    except websockets.ConnectionClosed:
        return  # the history poll finds out how the run ended


def _values(
    request: GenerationRequest, opts: ComfyUIOptions, seed: int, references: list[str]
) -> dict[str, Any]:
    """Every placeholder's typed value for this job (`refN` = uploaded file names)."""
    return {
        "prompt": request.prompt,
        "negative": request.negative,
        "seed": seed,
        "steps": request.steps or opts.steps,
        "width": request.width,
        "height": request.height,
        "checkpoint": opts.checkpoint or "",
        "cfg": opts.cfg,
        "sampler": opts.sampler,
        "scheduler": opts.scheduler,
        **{f"ref{i}": name for i, name in enumerate(references)},
    }


def _snap(side: int) -> int:
    return max(64, int(round(side / SIZE_STEP)) * SIZE_STEP)
