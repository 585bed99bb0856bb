"""The `fal` backend: fal.ai's queue API (submit, status, result, cancel, resume).

Protocol (`shared/reference/providers.md` §7, re-checked 2026-11-29 against fal-client 1.0.3
`client.py` and docs.fal.ai/model-endpoints/queue):

    POST {base}/{model_id}[/{subpath}]           body = the model's input; headers
         `Authorization: Key KEY`, optional `X-Fal-Queue-Priority`, `X-Fal-Request-Timeout`
         -> {"request_id", "status_url", "response_url", "cancel_url"}
    GET  {base}/{app}/requests/{id}/status?logs=1  202 while queued/running, 200 when done:
         {"status": "IN_QUEUE", "queue_position"} | {"status": "IN_PROGRESS", "logs"} |
         {"status": "COMPLETED", "logs", "metrics", "error"?, "error_type"?}
    GET  {base}/{app}/requests/{id}                the model's answer (or its 422 error)
    PUT  {base}/{app}/requests/{id}/cancel         cancel (queued: dropped; running: signalled)

`{app}` is the model id without its subpath (`fal-ai/flux/dev` -> `fal-ai/flux`), exactly as
the URLs the submit call returns; a resume rebuilds them from the request id. The answer of
flux models is `{"images": [{"url", "content_type", "width", "height"}], "seed",
"has_nsfw_concepts": [bool], "timings"}`; a true `has_nsfw_concepts` or a 422
`content_policy_violation` is a safety block. URLs (or `data:` URIs with `sync_mode`) are
downloaded at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, cast
from urllib.parse import quote, urlsplit

from ..base import ApiOptions, Backend, BackendOptions, Capability, JobContext
from ..errors import ErrorCode, ImagenError
from ..http import poll
from ..models import GenerationRequest, ImageResult
from ..schema import bounds
from ..text import one_line
from .api_call import call_json
from .log_progress import tqdm_progress
from .outputs import fetch_output
from .redact import redacting
from .remote_id import REMOTE_ID
from .retired import retired_note

DEFAULT_BASE_URL = "https://queue.fal.run"
DEFAULT_MODEL = "fal-ai/flux/schnell"

ImageSize = Literal[
    "square_hd", "square", "portrait_4_3", "portrait_16_9", "landscape_4_3", "landscape_16_9"
]
IMAGE_SIZES: dict[str, tuple[int, int]] = {
    "square_hd": (1024, 1024),
    "square": (512, 512),
    "portrait_4_3": (768, 1024),
    "portrait_16_9": (576, 1024),
    "landscape_4_3": (1024, 768),
    "landscape_16_9": (1024, 576),
}
"""Pixels of fal's `image_size` presets (fal.ai/docs/model-api-reference/image-generation-api/
flux-schnell, checked 2026-11-29); any other size is sent as `{"width", "height"}`."""

PRICES_USD_PER_MP: dict[str, float] = {
    "fal-ai/flux/schnell": 0.003,
    "fal-ai/flux-1/schnell": 0.003,
    "fal-ai/flux/dev": 0.025,
    "fal-ai/flux-1/dev": 0.025,
}
"""USD per megapixel of output. Source: `shared/reference/providers.md` §7 (fal.ai model pages),
re-checked 2026-11-29. Set `price_per_mp_usd` to override."""


NAMESPACES = frozenset({"workflows", "comfy"})
"""Model ids under these take three segments for the app (fal-client `AppId.from_endpoint_id`)."""
RUNNING = frozenset({"IN_QUEUE", "IN_PROGRESS"})


class FalOptions(ApiOptions):
    """Options of a fal instance; model inputs use fal's own field names."""

    base_url: str = DEFAULT_BASE_URL
    """fal queue host (backup `https://queue.falrun.com`, or a proxy)."""
    api_key_env: str | None = "FAL_KEY"
    """Name of the environment variable that holds the key (never the key itself)."""
    model: str | None = DEFAULT_MODEL
    """Endpoint id, e.g. fal-ai/flux/schnell or fal-ai/flux/dev."""
    image_size: ImageSize | None = None
    """Input `image_size` preset; unset = the requested W×H (a preset's name when it matches)."""
    output_format: Literal["jpeg", "png"] | None = None
    """Input `output_format`; unset = the model's default (jpeg for flux)."""
    guidance_scale: float | None = field(default=None, metadata=bounds(ge=1, le=20))
    """Input `guidance_scale` (flux: 3.5 by default)."""
    acceleration: Literal["none", "regular", "high"] | None = None
    """Input `acceleration`."""
    enable_safety_checker: bool | None = None
    """Input `enable_safety_checker` (fal's default: true)."""
    sync_mode: bool | None = None
    """Input `sync_mode`: the image comes inline as a data: URI and stays out of fal's history."""
    extra_input: dict[str, Any] | None = None
    """A TOML table of more input fields, by the model's own names (they win over the above)."""
    priority: Literal["normal", "low"] | None = None
    """`X-Fal-Queue-Priority` header."""
    start_timeout_s: float | None = field(default=None, metadata=bounds(gt=0))
    """`X-Fal-Request-Timeout`: give up when the job has not started after this many seconds."""
    poll_s: float = field(default=0.5, metadata=bounds(gt=0, le=30))
    """Seconds between status polls (growing to 4x this)."""
    price_per_mp_usd: float | None = field(default=None, metadata=bounds(ge=0))
    """Your price in USD per megapixel, overriding the built-in table."""


@dataclass(frozen=True, slots=True)
class QueueUrls:
    """Where one queued request is watched, fetched and cancelled."""

    request_id: str
    status: str
    response: str
    cancel: str


@dataclass(frozen=True, slots=True)
class QueueStatus:
    """One answer of the status endpoint."""

    status: str
    queue_position: int | None = None
    logs: str = ""
    error: str = ""
    error_type: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)

    @property
    def done(self) -> bool:
        return self.status not in RUNNING


# --- pure: requests ----------------------------------------------------------------------------


def app_id(model: str) -> str:
    """The app part of an endpoint id: `fal-ai/flux/dev` -> `fal-ai/flux`.

    Raises `ImagenError(BAD_REQUEST)` for an id without owner and name.
    """
    parts = [p for p in model.strip("/").split("/") if p]
    keep = 3 if parts and parts[0] in NAMESPACES else 2
    if len(parts) < keep:
        raise ImagenError(
            ErrorCode.BAD_REQUEST, f"fal model {one_line(model, 100)!r} is not owner/name[/path]"
        )
    return "/".join(parts[:keep])


def submit_url(base_url: str, model: str) -> str:
    app_id(model)  # validates
    return f"{base_url.rstrip('/')}/{_path(model.strip('/'))}"


def queue_urls(base_url: str, model: str, request_id: str) -> QueueUrls:
    """The status/result/cancel URLs of `request_id`, rebuilt from the ids (for a resume)."""
    root = f"{base_url.rstrip('/')}/{_path(app_id(model))}/requests/{quote(request_id, safe='')}"
    return QueueUrls(request_id, f"{root}/status", root, f"{root}/cancel")


def image_size_for(request: GenerationRequest, opts: FalOptions) -> str | dict[str, int]:
    """The `image_size` input: the option, a preset whose pixels match, else width/height."""
    if opts.image_size is not None:
        return opts.image_size
    for name, size in IMAGE_SIZES.items():
        if size == (request.width, request.height):
            return name
    return {"width": request.width, "height": request.height}


def build_input(request: GenerationRequest, opts: FalOptions) -> dict[str, Any]:
    """The model input: prompt, size, seed, steps, set options, then `extra_input`."""
    body: dict[str, Any] = {
        "prompt": request.prompt,
        "image_size": image_size_for(request, opts),
        "num_images": 1,
    }
    if request.seed is not None:
        body["seed"] = request.seed
    if request.steps is not None:
        body["num_inference_steps"] = request.steps
    for name in (
        "output_format",
        "guidance_scale",
        "acceleration",
        "enable_safety_checker",
        "sync_mode",
    ):
        value = getattr(opts, name)
        if value is not None:
            body[name] = value
    body.update(opts.extra_input or {})
    return body


def submit_headers(key: str, opts: FalOptions) -> dict[str, str]:
    headers = auth_headers(key)
    if opts.priority is not None:
        headers["X-Fal-Queue-Priority"] = opts.priority
    if opts.start_timeout_s is not None:
        headers["X-Fal-Request-Timeout"] = f"{opts.start_timeout_s:g}"
    return headers


def auth_headers(key: str) -> dict[str, str]:
    return {"Authorization": f"Key {key}"}


def _path(path: str) -> str:
    return quote(path, safe="/-_.~")


# --- pure: responses ---------------------------------------------------------------------------


def parse_submit(payload: Any, base_url: str, model: str) -> QueueUrls:
    """The queued request's URLs: those fal returned when they are on `base_url`'s origin (so
    the key never goes elsewhere), else rebuilt from the request id.

    Raises `ImagenError(UNAVAILABLE)` when the answer has no `request_id`.
    """
    if not isinstance(payload, dict) or not payload.get("request_id"):
        raise ImagenError(ErrorCode.UNAVAILABLE, "fal answered the submit without a request_id")
    if not REMOTE_ID.fullmatch(str(payload["request_id"])):
        raise ImagenError(ErrorCode.UNAVAILABLE, "fal answered a malformed request_id")
    rebuilt = queue_urls(base_url, model, str(payload["request_id"]))
    origin = _origin(base_url)

    def pick(name: str, fallback: str) -> str:
        given = payload.get(name)
        return given if isinstance(given, str) and _origin(given) == origin else fallback

    return QueueUrls(
        rebuilt.request_id,
        pick("status_url", rebuilt.status),
        pick("response_url", rebuilt.response),
        pick("cancel_url", rebuilt.cancel),
    )


def parse_status(payload: Any) -> QueueStatus:
    """Read a status answer. Raises `ImagenError(UNAVAILABLE)` when it has no `status`."""
    if not isinstance(payload, dict) or not payload.get("status"):
        raise ImagenError(ErrorCode.UNAVAILABLE, "fal answered a status poll without a status")
    position = payload.get("queue_position")
    metrics = payload.get("metrics")
    return QueueStatus(
        status=str(payload["status"]),
        queue_position=position if isinstance(position, int) else None,
        logs=_log_text(payload.get("logs")),
        error=str(payload.get("error") or ""),
        error_type=str(payload.get("error_type") or ""),
        metrics=dict(metrics) if isinstance(metrics, dict) else {},
    )


def _log_text(logs: Any) -> str:
    if not isinstance(logs, list):
        return ""
    return "\n".join(str(item.get("message", "")) for item in logs if isinstance(item, dict))


def status_failure(status: QueueStatus) -> ImagenError | None:
    """The error a finished status reports (`error`/`error_type`), or None."""
    if not status.error and not status.error_type:
        return None
    detail = one_line(status.error or status.error_type, 200)
    kind = status.error_type.lower()
    if "content_policy" in kind or "nsfw" in kind:
        return ImagenError(ErrorCode.SAFETY_BLOCKED, f"fal: {detail}")
    if kind in ("request_timeout", "startup_timeout"):
        return ImagenError(ErrorCode.TIMEOUT, f"fal: {detail}")
    if kind in ("runner_disconnected", "runner_server_error", "internal_error"):
        return ImagenError(ErrorCode.UNAVAILABLE, f"fal: {detail}")
    return ImagenError(ErrorCode.NO_IMAGE, f"fal request failed: {detail}")


def progress_of(status: QueueStatus) -> tuple[float, str]:
    """(fraction, message) for a queued or running request."""
    if status.status == "IN_QUEUE":
        where = f" (position {status.queue_position})" if status.queue_position is not None else ""
        return 0.0, f"queued{where}"
    found = tqdm_progress(status.logs)
    return found if found is not None else (0.0, "running")


@dataclass(frozen=True, slots=True)
class FalResult:
    """The parts of a model's answer this adapter reads."""

    url: str
    seed: int | None
    metadata: dict[str, Any]


def parse_result(payload: Any, request_id: str) -> FalResult:
    """The first image of a flux-style answer.

    Raises `ImagenError`: SAFETY_BLOCKED when `has_nsfw_concepts[0]` is true, NO_IMAGE when
    there is no image URL.
    """
    if not isinstance(payload, dict):
        raise ImagenError(ErrorCode.NO_IMAGE, f"fal request {request_id}: answer is not an object")
    nsfw = payload.get("has_nsfw_concepts")
    if isinstance(nsfw, list) and nsfw and nsfw[0] is True:
        raise ImagenError(
            ErrorCode.SAFETY_BLOCKED, f"fal request {request_id}: image flagged as NSFW"
        )
    images = payload.get("images")
    if not isinstance(images, list) and isinstance(payload.get("image"), dict):
        images = [payload["image"]]
    first = images[0] if isinstance(images, list) and images else None
    url = first.get("url") if isinstance(first, dict) else None
    if not isinstance(url, str) or not url:
        raise ImagenError(ErrorCode.NO_IMAGE, f"fal request {request_id}: no image in the answer")
    seed = payload.get("seed")
    meta: dict[str, Any] = {"request_id": request_id}
    if isinstance(payload.get("timings"), dict):
        meta["timings"] = payload["timings"]
    return FalResult(url, seed if isinstance(seed, int) else None, meta)


def price_for(request: GenerationRequest, model: str, opts: FalOptions) -> float | None:
    """USD for one image of the request's size: price per megapixel × megapixels."""
    per_mp = opts.price_per_mp_usd
    if per_mp is None:
        per_mp = PRICES_USD_PER_MP.get(model.strip("/"))
    if per_mp is None:
        return None
    return round(per_mp * request.width * request.height / 1_000_000, 6)


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


# --- the backend -------------------------------------------------------------------------------


class FalBackend(Backend):
    """fal.ai queue: flux and any other image endpoint; resumes after a crash."""

    type_name = "fal"
    description = "fal.ai queue API (flux schnell by default); resumes after a crash."
    Options = FalOptions
    capabilities = frozenset(
        {
            Capability.TXT2IMG,
            Capability.SEED,
            Capability.STEPS,
            Capability.PROGRESS,
            Capability.CANCEL,
            Capability.RESUME,
        }
    )
    needs_http = True

    def normalize(self, request: GenerationRequest, options: BackendOptions) -> GenerationRequest:
        """The preset's pixels when `image_size` is set, else the request as it is."""
        opts = cast(FalOptions, options)
        if opts.image_size is None:
            return request
        width, height = IMAGE_SIZES[opts.image_size]
        return request.replace(width=width, height=height)

    def estimate_cost(self, request: GenerationRequest, options: BackendOptions) -> float | None:
        opts = cast(FalOptions, options)
        return price_for(request, opts.model or DEFAULT_MODEL, opts)

    def warnings(self, request: GenerationRequest, options: BackendOptions) -> list[str]:
        """A note when the model proxies one its vendor shut down (sent anyway)."""
        model = cast(FalOptions, options).model or DEFAULT_MODEL
        note = retired_note(model)
        return [f"fal model {one_line(model, 200)} {note}; sent anyway"] if note else []

    async def generate(self, request: GenerationRequest, ctx: JobContext) -> ImageResult:
        opts = cast(FalOptions, ctx.options)
        model = opts.model or DEFAULT_MODEL
        key = self._key()
        with redacting(key):
            url = submit_url(opts.base_url, model)
            payload = await call_json(
                ctx.http,
                "POST",
                url,
                json=build_input(request, opts),
                headers=submit_headers(key, opts),
            )
            urls = parse_submit(payload, opts.base_url, model)
            await ctx.set_remote_id(urls.request_id)
            return await self._complete(urls, request, ctx, key)

    async def resume(self, request: GenerationRequest, ctx: JobContext) -> ImageResult:
        """Watch the request `ctx.remote_id` again (after a crash or a failed poll)."""
        if not ctx.remote_id:
            return await self.generate(request, ctx)
        opts = cast(FalOptions, ctx.options)
        key = self._key()
        with redacting(key):
            ctx.progress(0.0, "resuming")
            urls = queue_urls(opts.base_url, opts.model or DEFAULT_MODEL, ctx.remote_id)
            return await self._complete(urls, request, ctx, key)

    async def cancel(self, ctx: JobContext) -> None:
        """`PUT .../requests/{id}/cancel`; nothing to do before the id is known."""
        if not ctx.remote_id:
            return
        opts = cast(FalOptions, ctx.options)
        key = self._key()
        with redacting(key):
            urls = queue_urls(opts.base_url, opts.model or DEFAULT_MODEL, ctx.remote_id)
            await call_json(ctx.http, "PUT", urls.cancel, headers=auth_headers(key))

    # -- the thin I/O loop --------------------------------------------------------------------

    def _key(self) -> str:
        key = self.api_key()
        if not key:
            self.require_ready()
            raise ImagenError(ErrorCode.AUTH_MISSING, f"backend {self.name!r}: no API key")
        return key

    async def _status(self, ctx: JobContext, key: str, urls: QueueUrls) -> QueueStatus:
        payload = await call_json(
            ctx.http, "GET", urls.status, params={"logs": "1"}, headers=auth_headers(key)
        )
        status = parse_status(payload)
        if not status.done:
            ctx.progress(*progress_of(status))
        return status

    async def _complete(
        self, urls: QueueUrls, request: GenerationRequest, ctx: JobContext, key: str
    ) -> ImageResult:
        opts = cast(FalOptions, ctx.options)
        status = await poll(
            lambda: self._status(ctx, key, urls),
            lambda s: s.done,
            every=opts.poll_s,
            max_every=opts.poll_s * 4,
        )
        error = status_failure(status)
        if error is not None:
            if error.retryable:  # fal gave up on this request: a retry must submit anew
                ctx.remote_id = None
            raise error
        payload = await call_json(ctx.http, "GET", urls.response, headers=auth_headers(key))
        result = parse_result(payload, urls.request_id)
        ctx.progress(1.0, "downloading")
        data = await fetch_output(ctx.http, result.url)
        model = opts.model or DEFAULT_MODEL
        metadata = {**result.metadata, "usage": status.metrics}
        return ImageResult(
            data=data,
            seed=result.seed if result.seed is not None else request.seed,
            cost_usd=price_for(request, model, opts),
            model=model,
            metadata=metadata,
        )
