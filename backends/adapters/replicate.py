"""The `replicate` backend: Replicate predictions (create with `Prefer: wait`, poll, cancel).

Protocol (`shared/reference/providers.md` §3, re-checked 2026-11-29 against replicate-python
1.0.7 and replicate.com/docs/topics/predictions/{create-a-prediction,lifecycle}):

    POST {base}/models/{owner}/{name}/predictions        official models
    POST {base}/deployments/{owner}/{name}/predictions   model = "deployments/owner/name"
    POST {base}/predictions  {"version": id, ...}        model = "owner/name:version"
         body {"input": {...}}; headers `Authorization: Bearer KEY`, `Prefer: wait=N` (1-60 s:
         the answer may already be final), `Cancel-After: Ns` (server deadline -> `aborted`
         when not started, `canceled` otherwise)
    GET  {base}/predictions/{id}                         poll; also the resume after a crash
    POST {base}/predictions/{id}/cancel                  cancel

Statuses `starting` -> `processing` -> `succeeded` | `failed` | `canceled` | `aborted`; all four
last ones are final (replicate-python 1.0.7 misses `aborted`, PR #460). `output` is a URL, a list
of URLs or `data:` URIs; API outputs are deleted after 1 hour, so they are downloaded at once.
Progress comes from tqdm bars in `logs`. Errors are RFC 7807 bodies, mapped by the shared HTTP
layer; a failed prediction's `error` naming NSFW content is a safety block.

The prediction id is recorded with `ctx.set_remote_id` (awaited: durable in the job log) as soon
as the create call answers, so a crashed job resumes polling instead of paying again, and a
failed poll is retried by the engine as a resume (GET), never as a second create (POST).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Literal, cast
from urllib.parse import quote

import httpx

from ..base import ApiOptions, Backend, BackendOptions, Capability, JobContext
from ..errors import ErrorCode, ImagenError
from ..http import poll
from ..models import GenerationRequest, ImageResult
from ..schema import bounds
from ..text import one_line
from .api_call import call_json
from .aspect import offered_ratio
from .log_progress import reported_seed, tqdm_progress
from .outputs import fetch_output
from .redact import redacting
from .remote_id import REMOTE_ID
from .retired import retired_note

DEFAULT_BASE_URL = "https://api.replicate.com/v1"
DEFAULT_MODEL = "black-forest-labs/flux-schnell"

AspectRatio = Literal[
    "1:1", "16:9", "21:9", "3:2", "2:3", "4:5", "5:4", "3:4", "4:3", "9:16", "9:21"
]
FLUX_SIZES: dict[str, tuple[int, int]] = {
    "1:1": (1024, 1024),
    "16:9": (1344, 768),
    "21:9": (1536, 640),
    "3:2": (1216, 832),
    "2:3": (832, 1216),
    "4:5": (896, 1088),
    "5:4": (1088, 896),
    "3:4": (896, 1152),
    "4:3": (1152, 896),
    "9:16": (768, 1344),
    "9:21": (640, 1536),
}
"""Pixels per `aspect_ratio` at `megapixels` "1" (the `ASPECT_RATIOS` table of Replicate's flux
predictors, replicate/cog-flux `predict.py`, checked 2026-11-29); "0.25" halves each side."""
SMALL_AREA = 300_000
"""Requests of at most this many pixels ask for `megapixels: "0.25"` (512×512 and the like)."""

PRICES_USD: dict[str, float] = {
    "black-forest-labs/flux-schnell": 0.003,
    "black-forest-labs/flux-dev": 0.025,
    "black-forest-labs/flux-1.1-pro": 0.04,
}
"""USD per image. Source: `shared/reference/providers.md` §3 (workflowlab.dev, 2026-05; third
party), re-checked 2026-11-29. Set `price_usd` to override."""
PRICES_SOURCE = "providers.md §3 (workflowlab.dev 2026-05, checked 2026-11-29)"


FINAL = frozenset({"succeeded", "failed", "canceled", "aborted"})
CREATE_GRACE_S = 5.0
"""The create call's read timeout is `wait_s` plus this (replicate-python uses wait + 0.5 s)."""
MIN_CANCEL_AFTER_S = 5
_NSFW = re.compile(r"nsfw|safety|content policy|sensitive content", re.I)


class ReplicateOptions(ApiOptions):
    """Options of a Replicate instance; model inputs use Replicate's own field names."""

    base_url: str = DEFAULT_BASE_URL
    """Replicate API root (a proxy or gateway welcome)."""
    api_key_env: str | None = "REPLICATE_API_TOKEN"
    """Name of the environment variable that holds the API token (never the token itself)."""
    model: str | None = DEFAULT_MODEL
    """"owner/name" (official model), "owner/name:version" or "deployments/owner/name"."""
    aspect_ratio: AspectRatio | None = None
    """Input `aspect_ratio`; unset = the offered ratio closest to the requested size."""
    megapixels: Literal["1", "0.25"] | None = None
    """Input `megapixels`; unset = "0.25" for requests of 0.3 MP or less, else the model's."""
    output_format: Literal["webp", "jpg", "png"] | None = None
    """Input `output_format`; unset = the model's default (webp for flux)."""
    output_quality: int | None = field(default=None, metadata=bounds(ge=0, le=100))
    """Input `output_quality` (jpg/webp, 0-100)."""
    go_fast: bool | None = None
    """Input `go_fast` (fp8: faster, not seed-deterministic)."""
    disable_safety_checker: bool | None = None
    """Input `disable_safety_checker`."""
    extra_input: dict[str, Any] | None = None
    """A TOML table of more `input` fields, by the model's own names (they win over the above)."""
    wait_s: int = field(default=5, metadata=bounds(ge=1, le=60))
    """`Prefer: wait=N` (s): a fast model answers in one call; longer holds delay progress and
    the prediction id, which a crash or cancel during the hold cannot reach."""
    poll_s: float = field(default=0.5, metadata=bounds(gt=0, le=30))
    """Seconds between status polls (growing to 4x this)."""
    price_usd: float | None = field(default=None, metadata=bounds(ge=0))
    """Your price per image in USD, overriding the built-in table."""


@dataclass(frozen=True, slots=True)
class Prediction:
    """A prediction as Replicate describes it (the fields this adapter reads)."""

    id: str
    status: str
    outputs: tuple[str, ...] = ()
    error: str = ""
    logs: str = ""
    model: str = ""
    version: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)
    data_removed: bool = False

    @property
    def final(self) -> bool:
        return self.status in FINAL


# --- pure: requests ----------------------------------------------------------------------------


def aspect_ratio_for(request: GenerationRequest, opts: ReplicateOptions) -> str:
    """The `aspect_ratio` to ask for: the option, else the one whose flux size is exactly the
    request's (flux's 3:4 is really 7:9), else the offered one closest to the request.

    Raises `ImagenError(BAD_REQUEST)` naming the offered ratios when none is close.
    """
    if opts.aspect_ratio:
        return opts.aspect_ratio
    wanted = (request.width, request.height)
    for ratio in FLUX_SIZES:
        if wanted in (size_for(ratio, None), size_for(ratio, "0.25")):
            return ratio
    return offered_ratio(request.width, request.height, list(FLUX_SIZES))


def megapixels_for(request: GenerationRequest, opts: ReplicateOptions) -> str | None:
    """The `megapixels` input to send, or None to leave the model's default ("1")."""
    if opts.megapixels is not None:
        return opts.megapixels
    return "0.25" if request.width * request.height <= SMALL_AREA else None


def size_for(ratio: str, megapixels: str | None) -> tuple[int, int]:
    """Pixels flux makes for `ratio` at `megapixels` (multiples of 16)."""
    width, height = FLUX_SIZES[ratio]
    if megapixels == "0.25":
        return round(width / 32) * 16, round(height / 32) * 16
    return width, height


def build_input(request: GenerationRequest, opts: ReplicateOptions) -> dict[str, Any]:
    """The prediction `input`: prompt, aspect ratio, seed, steps, set options, `extra_input`."""
    body: dict[str, Any] = {
        "prompt": request.prompt,
        "aspect_ratio": aspect_ratio_for(request, opts),
    }
    if request.seed is not None:
        body["seed"] = request.seed
    if request.steps is not None:
        body["num_inference_steps"] = request.steps
    megapixels = megapixels_for(request, opts)
    if megapixels is not None:
        body["megapixels"] = megapixels
    for name in ("output_format", "output_quality", "go_fast", "disable_safety_checker"):
        value = getattr(opts, name)
        if value is not None:
            body[name] = value
    body.update(opts.extra_input or {})
    return body


def create_target(base_url: str, model: str) -> tuple[str, dict[str, Any]]:
    """(URL to POST, extra body fields) for `model`; see the module docstring for the forms.

    Raises `ImagenError(BAD_REQUEST)` for a model that is none of them.
    """
    base = base_url.rstrip("/")
    name, _, version = model.partition(":")
    parts = name.strip("/").split("/")
    if version:
        return f"{base}/predictions", {"version": version}
    if len(parts) == 3 and parts[0] == "deployments":
        return f"{base}/deployments/{_path(parts[1])}/{_path(parts[2])}/predictions", {}
    if len(parts) == 2 and all(parts):
        return f"{base}/models/{_path(parts[0])}/{_path(parts[1])}/predictions", {}
    raise ImagenError(
        ErrorCode.BAD_REQUEST,
        f"replicate model {one_line(model, 100)!r} is not owner/name, owner/name:version or "
        "deployments/owner/name",
    )


def create_headers(key: str, opts: ReplicateOptions) -> dict[str, str]:
    """Auth, `Prefer: wait=N` and a `Cancel-After` deadline of the job's timeout."""
    cancel_after = max(MIN_CANCEL_AFTER_S, math.ceil(opts.timeout_s))
    return {
        "Authorization": f"Bearer {key}",
        "Prefer": f"wait={opts.wait_s}",
        "Cancel-After": f"{cancel_after}s",
    }


def prediction_url(base_url: str, prediction_id: str) -> str:
    return f"{base_url.rstrip('/')}/predictions/{_path(prediction_id)}"


def _path(segment: str) -> str:
    return quote(segment, safe="-_.~")


# --- pure: responses ---------------------------------------------------------------------------


def parse_prediction(payload: Any) -> Prediction:
    """Read a prediction object. Raises `ImagenError(UNAVAILABLE)` when it has no id/status."""
    if not isinstance(payload, dict) or not payload.get("id") or not payload.get("status"):
        raise ImagenError(ErrorCode.UNAVAILABLE, "replicate answered without a prediction id")
    if not REMOTE_ID.fullmatch(str(payload["id"])):
        raise ImagenError(ErrorCode.UNAVAILABLE, "replicate answered a malformed prediction id")
    metrics = payload.get("metrics")
    return Prediction(
        id=str(payload["id"]),
        status=str(payload["status"]),
        outputs=output_urls(payload.get("output")),
        error=str(payload.get("error") or ""),
        logs=str(payload.get("logs") or ""),
        model=one_line(payload.get("model") or "", 200),
        version=str(payload.get("version") or ""),
        metrics=dict(metrics) if isinstance(metrics, dict) else {},
        data_removed=bool(payload.get("data_removed")),
    )


def output_urls(output: Any) -> tuple[str, ...]:
    """Every URL or `data:` URI in `output` (a string, a list, or a dict of them), in order."""
    if isinstance(output, str):
        return (output,) if output.strip() else ()
    if isinstance(output, list):
        return tuple(url for item in output for url in output_urls(item))
    if isinstance(output, dict):
        return tuple(url for item in output.values() for url in output_urls(item))
    return ()


def failure(prediction: Prediction) -> ImagenError | None:
    """The error a final prediction stands for, or None when it has an image to download."""
    pid = one_line(prediction.id, 60)
    reason = one_line(prediction.error, 200)
    if prediction.status == "failed":
        code = ErrorCode.SAFETY_BLOCKED if _NSFW.search(prediction.error) else ErrorCode.NO_IMAGE
        return ImagenError(code, f"prediction {pid} failed: {reason or 'no reason given'}")
    if prediction.status == "canceled":
        return ImagenError(ErrorCode.CANCELLED, f"prediction {pid} was canceled")
    if prediction.status == "aborted":
        return ImagenError(ErrorCode.TIMEOUT, f"prediction {pid} hit its deadline before starting")
    if prediction.data_removed:
        return ImagenError(
            ErrorCode.NO_IMAGE, f"prediction {pid}: outputs already deleted (kept 1 hour)"
        )
    if not prediction.outputs:
        return ImagenError(ErrorCode.NO_IMAGE, f"prediction {pid} succeeded without an output")
    return None


def progress_of(prediction: Prediction) -> tuple[float, str]:
    """(fraction, message) for a running prediction: the last tqdm bar, else its status."""
    if prediction.status == "starting":
        return 0.0, "starting"
    found = tqdm_progress(prediction.logs)
    if found is not None:
        return found
    return 0.0, one_line(prediction.status, 40)


def provider_metadata(prediction: Prediction) -> dict[str, Any]:
    """What goes into the sidecar's `provider`: ids and Replicate's usage metrics."""
    meta: dict[str, Any] = {"prediction_id": prediction.id, "usage": prediction.metrics}
    if prediction.version:
        meta["version"] = prediction.version
    return meta


def price_for(model: str, opts: ReplicateOptions) -> float | None:
    """USD per image: `price_usd`, else the table by model (without a `:version`), else None."""
    if opts.price_usd is not None:
        return opts.price_usd
    return PRICES_USD.get(model.partition(":")[0])


# --- the backend -------------------------------------------------------------------------------


class ReplicateBackend(Backend):
    """Replicate predictions: flux and any other image model, by owner/name or version."""

    type_name = "replicate"
    description = "Replicate predictions (flux-schnell by default); resumes after a crash."
    Options = ReplicateOptions
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
    sizes = tuple(f"{w}x{h}" for w, h in FLUX_SIZES.values())
    needs_http = True

    def normalize(self, request: GenerationRequest, options: BackendOptions) -> GenerationRequest:
        """The size flux makes for the closest offered aspect ratio (see `FLUX_SIZES`).

        Raises `ImagenError(BAD_REQUEST)` naming the offered ratios when none is close.
        """
        opts = cast(ReplicateOptions, options)
        ratio = aspect_ratio_for(request, opts)
        width, height = size_for(ratio, megapixels_for(request, opts))
        return request.replace(width=width, height=height)

    def estimate_cost(self, request: GenerationRequest, options: BackendOptions) -> float | None:
        opts = cast(ReplicateOptions, options)
        return price_for(opts.model or DEFAULT_MODEL, opts)

    def warnings(self, request: GenerationRequest, options: BackendOptions) -> list[str]:
        """A note when the model proxies one its vendor shut down (sent anyway)."""
        model = cast(ReplicateOptions, options).model or DEFAULT_MODEL
        note = retired_note(model)
        return [f"replicate model {one_line(model, 200)} {note}; sent anyway"] if note else []

    async def generate(self, request: GenerationRequest, ctx: JobContext) -> ImageResult:
        opts = cast(ReplicateOptions, ctx.options)
        key = self._key()
        with redacting(key):
            url, extra = create_target(opts.base_url, opts.model or DEFAULT_MODEL)
            payload = await call_json(
                ctx.http,
                "POST",
                url,
                json={**extra, "input": build_input(request, opts)},
                headers=create_headers(key, opts),
                timeout=httpx.Timeout(opts.wait_s + CREATE_GRACE_S, connect=10.0),
            )
            prediction = parse_prediction(payload)
            await ctx.set_remote_id(prediction.id)
            return await self._complete(prediction, request, ctx, key)

    async def resume(self, request: GenerationRequest, ctx: JobContext) -> ImageResult:
        """Poll the prediction `ctx.remote_id` (after a crash or a failed poll): no new create."""
        if not ctx.remote_id:
            return await self.generate(request, ctx)
        key = self._key()
        with redacting(key):
            ctx.progress(0.0, "resuming")
            prediction = await self._get(ctx, key, ctx.remote_id)
            return await self._complete(prediction, request, ctx, key)

    async def cancel(self, ctx: JobContext) -> None:
        """`POST /predictions/{id}/cancel`; nothing to do before the id is known."""
        if not ctx.remote_id:
            return
        opts = cast(ReplicateOptions, ctx.options)
        key = self._key()
        with redacting(key):
            url = prediction_url(opts.base_url, ctx.remote_id) + "/cancel"
            await call_json(ctx.http, "POST", url, headers=_auth(key))

    # -- the thin I/O loop --------------------------------------------------------------------

    def _key(self) -> str:
        key = self.api_key()
        if not key:
            self.require_ready()
            raise ImagenError(ErrorCode.AUTH_MISSING, f"backend {self.name!r}: no API token")
        return key

    async def _get(self, ctx: JobContext, key: str, prediction_id: str) -> Prediction:
        opts = cast(ReplicateOptions, ctx.options)
        url = prediction_url(opts.base_url, prediction_id)
        prediction = parse_prediction(await call_json(ctx.http, "GET", url, headers=_auth(key)))
        if not prediction.final:
            ctx.progress(*progress_of(prediction))
        return prediction

    async def _complete(
        self, prediction: Prediction, request: GenerationRequest, ctx: JobContext, key: str
    ) -> ImageResult:
        opts = cast(ReplicateOptions, ctx.options)
        if not prediction.final:
            ctx.progress(*progress_of(prediction))
            prediction = await poll(
                lambda: self._get(ctx, key, prediction.id),
                lambda p: p.final,
                every=opts.poll_s,
                max_every=opts.poll_s * 4,
            )
        error = failure(prediction)
        if error is not None:
            raise error
        ctx.progress(1.0, "downloading")
        data = await fetch_output(ctx.http, prediction.outputs[0])
        seed = reported_seed(prediction.logs)
        return ImageResult(
            data=data,
            seed=seed if seed is not None else request.seed,
            cost_usd=price_for(opts.model or DEFAULT_MODEL, opts),
            model=prediction.model or (opts.model or DEFAULT_MODEL),
            metadata=provider_metadata(prediction),
        )


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}
