"""The `openai` backend: the OpenAI Images API (generations and edits), partials streamed live.

Protocol (`shared/reference/providers.md` §1, from openai-python 3.57.0 `resources/images.py`,
`_streaming.py`, `types/image_gen_partial_image_event.py`, `image_gen_completed_event.py`;
checked 2026-11-29):

- `POST {base_url}/images/generations`, JSON: `model`, `prompt`, `n`, `size` "WxH", `quality`,
  `background`, `output_format`, `output_compression`, `moderation`, `complexity`, and with
  `stream: true` + `partial_images` an SSE stream of `image_generation.partial_image`
  {`b64_json`, `partial_image_index`} then `image_generation.completed` {`b64_json`, `usage`...}.
- `POST {base_url}/images/edits`, multipart: the same fields as form parts, the reference
  images as `image` (one) or repeated `image[]` parts (several), an optional `mask` part;
  streamed events are `image_edit.partial_image` / `image_edit.completed`.
- Non-streamed answer: `{"created", "data": [{"b64_json", "revised_prompt"?}], "usage", "size",
  "quality", "background", "output_format"}`. Auth `Authorization: Bearer <key>`.

There is no cancel endpoint: cancelling a job closes the connection, which is all a client can do.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import httpx

from ..base import ApiOptions, Backend, BackendOptions, Capability, JobContext
from ..errors import ErrorCode, ImagenError
from ..http import (
    error_for_payload,
    iter_sse,
    map_transport_errors,
    raise_for_status,
    response_json,
)
from ..models import GenerationRequest, ImageResult
from ..text import one_line
from .image_payload import decode_image, off_loop
from .openai_models import PRESET_SIZES, ModelFamily, model_family
from .openai_options import ImageFields, image_fields, mask_path, normalize_request
from .openai_pricing import cost_from_usage, estimate_image_cost
from .reference_files import ReferenceFile, read_reference

DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_MODEL = "gpt-image-2"
READ_TIMEOUT_S = 300.0
"""High-quality gpt-image calls take 1-2 min (providers.md §0); the engine's timeout_s rules."""


class OpenAIImagesOptions(ImageFields, ApiOptions):
    """Options of the `openai` backend type."""

    base_url: str = DEFAULT_BASE_URL
    """Where the API lives: https://api.openai.com/v1, or a compatible gateway."""
    api_key_env: str | None = "OPENAI_API_KEY"
    """Name of the environment variable that holds the key (never the key itself)."""
    model: str | None = DEFAULT_MODEL
    """Image model, e.g. gpt-image-2, gpt-image-2.5-sunburst, gpt-image-1.5 (any name a
    gateway serves is sent as is)."""
    organization: str | None = None
    """OpenAI-Organization header (an org id, not a secret)."""
    project: str | None = None
    """OpenAI-Project header (a project id, not a secret)."""
    safety_identifier: str | None = None
    """Stable hashed end-user id for OpenAI's abuse tracking."""

    def checked_model(self) -> str:
        return self.model or DEFAULT_MODEL


# --- pure request building ------------------------------------------------------------------


def request_fields(
    request: GenerationRequest,
    opts: OpenAIImagesOptions,
    family: ModelFamily | None,
    *,
    stream: bool,
) -> dict[str, Any]:
    """The JSON fields (and multipart form fields) of one generation or edit: always `n` = 1,
    the engine makes one image per job."""
    body: dict[str, Any] = {
        "model": opts.checked_model(),
        "prompt": request.prompt,
        "n": 1,
        "size": request.size,
        **image_fields(opts, family, editing=bool(request.references)),
    }
    if opts.safety_identifier:
        body["safety_identifier"] = opts.safety_identifier
    if stream:
        body["stream"] = True
        body["partial_images"] = opts.partial_images
    return body


def form_fields(fields: Mapping[str, Any]) -> dict[str, str]:
    """JSON fields as multipart text parts (booleans as true/false, as openai-python sends)."""
    return {k: json.dumps(v) if isinstance(v, bool) else str(v) for k, v in fields.items()}


def form_files(
    references: list[ReferenceFile], mask: ReferenceFile | None
) -> list[tuple[str, tuple[str, bytes, str]]]:
    """Multipart file parts: one reference as `image`, several as repeated `image[]`."""
    name = "image" if len(references) == 1 else "image[]"
    files = [(name, (ref.name, ref.data, ref.mime_type)) for ref in references]
    if mask is not None:
        files.append(("mask", (mask.name, mask.data, mask.mime_type)))
    return files


def wants_stream(opts: OpenAIImagesOptions, family: ModelFamily | None) -> bool:
    """Stream when partial previews are asked for and the model can (never dall-e)."""
    return opts.partial_images > 0 and not (family is not None and family.legacy)


# --- pure response parsing ------------------------------------------------------------------


@dataclass
class Outcome:
    """The final image of one call: bytes plus what the provider said about it."""

    data: bytes
    revised_prompt: str | None = None
    usage: dict[str, Any] | None = None
    echo: dict[str, Any] = field(default_factory=dict)
    """`size`, `quality`, `background`, `output_format` as the provider reports them."""


ECHO_FIELDS = ("size", "quality", "background", "output_format", "created", "created_at")


def parse_images_response(payload: Any) -> Outcome:
    """The first image of a non-streamed answer; NO_IMAGE when there is none (or a URL only:
    we always ask for base64)."""
    items = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(items, list) or not items or not isinstance(items[0], dict):
        raise ImagenError(ErrorCode.NO_IMAGE, "the answer holds no image (empty data)")
    item = items[0]
    data = decode_image(item.get("b64_json"), "images response")
    revised = item.get("revised_prompt")
    usage = payload.get("usage")
    return Outcome(
        data=data,
        revised_prompt=revised if isinstance(revised, str) else None,
        usage=usage if isinstance(usage, dict) else None,
        echo={k: payload[k] for k in ECHO_FIELDS if k in payload},
    )


@dataclass(frozen=True, slots=True)
class Partial:
    """A streamed partial image: `index` is 0-based."""

    index: int
    data: bytes


def parse_stream_event(name: str | None, payload: Any) -> Partial | Outcome | None:
    """One SSE event of a streamed generation or edit.

    Returns a `Partial` (a preview; None when its data is unusable: previews never fail a job),
    the final `Outcome`, or None for anything else. An error payload (`{"type": "error",
    "error": {...}}` or any object with `error`) raises its taxonomy error.
    """
    if not isinstance(payload, dict):
        return None
    kind = str(payload.get("type") or name or "")
    if kind == "error" or payload.get("error"):
        raise error_for_payload(payload)
    if kind.endswith(".partial_image"):
        try:
            data = decode_image(payload.get("b64_json"), "partial image")
        except ImagenError:
            return None
        index = payload.get("partial_image_index")
        return Partial(index if isinstance(index, int) else 0, data)
    if kind.endswith(".completed"):
        data = decode_image(payload.get("b64_json"), "final image event")
        usage = payload.get("usage")
        revised = payload.get("revised_prompt")
        return Outcome(
            data=data,
            revised_prompt=revised if isinstance(revised, str) else None,
            usage=usage if isinstance(usage, dict) else None,
            echo={k: payload[k] for k in ECHO_FIELDS if k in payload},
        )
    return None


def parse_event_text(name: str | None, data: str) -> Partial | Outcome | None:
    """`parse_stream_event` of an event's raw `data` (None when it is not JSON)."""
    try:
        payload = json.loads(data)
    except json.JSONDecodeError:
        return None
    return parse_stream_event(name, payload)


def _parse_posted(response: httpx.Response, url: str) -> Outcome:
    return parse_images_response(response_json(response, url))


# --- the backend ----------------------------------------------------------------------------


class OpenAIImagesBackend(Backend):
    """OpenAI Images API: text to image, edits from reference images (and a mask), live
    partial previews, usage-based cost."""

    type_name = "openai"
    description = (
        "OpenAI Images API (gpt-image family): generate and edit, transparent backgrounds, "
        "streamed partial previews."
    )
    Options = OpenAIImagesOptions
    capabilities = frozenset(
        {Capability.TXT2IMG, Capability.REFERENCES, Capability.PROGRESS, Capability.PREVIEW}
    )
    sizes = PRESET_SIZES
    """Every gpt-image model makes these; gpt-image-2/2.5 make any WxH within their rules."""
    needs_http = True

    def normalize(self, request: GenerationRequest, options: BackendOptions) -> GenerationRequest:
        """Size mapped to one the model makes; BAD_REQUEST naming what is allowed."""
        return normalize_request(self.name, cast(OpenAIImagesOptions, options), request)[0]

    def warnings(self, request: GenerationRequest, options: BackendOptions) -> list[str]:
        return model_warnings(cast(OpenAIImagesOptions, options).checked_model())

    def estimate_cost(self, request: GenerationRequest, options: BackendOptions) -> float | None:
        opts = cast(OpenAIImagesOptions, options)
        return estimate_image_cost(
            opts.checked_model(), opts.quality, request.width, request.height, request.prompt
        )

    async def generate(self, request: GenerationRequest, ctx: JobContext) -> ImageResult:
        """One image: POST generations (or edits with references), streamed when partial
        previews are on. Raises ImagenError for every expected failure."""
        opts = cast(OpenAIImagesOptions, ctx.options)
        request, family = normalize_request(self.name, opts, request)
        self.require_ready()  # a key env var is named but unset: AUTH_MISSING
        key = self.api_key()  # None only without api_key_env (a gateway that needs no key)
        references, mask = await _read_uploads(request, opts)
        endpoint = "edits" if references else "generations"
        url = f"{opts.base_url.rstrip('/')}/images/{endpoint}"
        stream = wants_stream(opts, family)
        fields = request_fields(request, opts, family, stream=stream)
        send = _send_kwargs(key, opts, fields, references, mask)
        ctx.progress(0.0, "request sent")
        if stream:
            outcome, request_id = await _streamed(ctx, url, opts.partial_images, send), None
        else:
            outcome, request_id = await _posted(ctx, url, send)
        return _result(opts, request, outcome, endpoint, request_id)


def model_warnings(model: str) -> list[str]:
    """A note for a retired or unknown model: gateways may still serve it, so never refused."""
    family = model_family(model)
    if family is None:
        return [f"model {one_line(model, 80)!s} is unknown here: size and options are not checked"]
    if family.retired:
        return [f"model {family.name} was {family.retired} by OpenAI; a gateway may still serve it"]
    return []


async def _read_uploads(
    request: GenerationRequest, opts: ImageFields
) -> tuple[list[ReferenceFile], ReferenceFile | None]:
    refs = [await asyncio.to_thread(read_reference, p) for p in request.references]
    path = mask_path(opts)
    mask = await asyncio.to_thread(read_reference, path, "mask") if path and refs else None
    return refs, mask


def _send_kwargs(
    key: str | None,
    opts: OpenAIImagesOptions,
    fields: dict[str, Any],
    references: list[ReferenceFile],
    mask: ReferenceFile | None,
) -> dict[str, Any]:
    """httpx keyword arguments: JSON for generations, multipart for edits."""
    send: dict[str, Any] = {"headers": _headers(key, opts), "timeout": _timeout(opts)}
    if references:
        send.update(data=form_fields(fields), files=form_files(references, mask))
    else:
        send["json"] = fields
    return send


def _headers(key: str | None, opts: OpenAIImagesOptions) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    if opts.organization:
        headers["OpenAI-Organization"] = opts.organization
    if opts.project:
        headers["OpenAI-Project"] = opts.project
    return headers


def _timeout(opts: BackendOptions) -> httpx.Timeout:
    return httpx.Timeout(max(opts.timeout_s, 1.0), connect=10.0)


async def _posted(ctx: JobContext, url: str, send: dict[str, Any]) -> tuple[Outcome, str | None]:
    with map_transport_errors(url):
        response = await ctx.http.post(url, **send)
    raise_for_status(response)
    outcome = await off_loop(len(response.content), _parse_posted, response, url)
    ctx.progress(1.0, "received")
    return outcome, response.headers.get("x-request-id")


async def _streamed(ctx: JobContext, url: str, partials: int, send: dict[str, Any]) -> Outcome:
    async for event in iter_sse(ctx.http, "POST", url, **send):
        parsed = await off_loop(len(event.data), parse_event_text, event.event, event.data)
        if isinstance(parsed, Partial):
            ctx.preview(parsed.data)
            done = min(parsed.index + 1, partials)
            ctx.progress(done / (partials + 1), f"partial image {done}/{partials}")
        elif isinstance(parsed, Outcome):
            return parsed
    raise ImagenError(ErrorCode.NO_IMAGE, f"{url}: the stream ended without a final image")


def _result(
    opts: OpenAIImagesOptions,
    request: GenerationRequest,
    outcome: Outcome,
    endpoint: str,
    request_id: str | None,
) -> ImageResult:
    model = opts.checked_model()
    cost = cost_from_usage(model, outcome.usage)
    if cost is None:
        cost = estimate_image_cost(
            model, opts.quality, request.width, request.height, request.prompt
        )
    metadata: dict[str, Any] = {"endpoint": f"images/{endpoint}", **outcome.echo}
    if outcome.usage is not None:
        metadata["usage"] = outcome.usage
    if request_id:
        metadata["request_id"] = one_line(request_id, 80)
    return ImageResult(
        data=outcome.data,
        revised_prompt=outcome.revised_prompt,
        cost_usd=cost,
        model=model,
        metadata=metadata,
    )
