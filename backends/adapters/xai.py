"""The `xai` backend: Grok Imagine image models over xAI's REST images API.

Protocol (shared/reference/providers.md §6, re-checked 2026-11-29 against xai-sdk-python 1.21
`xai_sdk/image.py` and docs.x.ai/developers/model-capabilities/images/generation):

    POST {base_url}/images/generations   Authorization: Bearer <key>
      {"model", "prompt", "n": 1, "response_format": "b64_json"|"url",
       "aspect_ratio"?, "resolution"?: "1k"|"2k", "quality"?: "low"|"medium"}
    POST {base_url}/images/edits         JSON, not multipart (openai-python cannot send it)
      the same plus "image": {"type": "image_url", "url": <data: URI>} (one reference)
      or "images": [{"type": "image_url", "url": …}, …] (several; never both)
    → {"created", "data": [{"b64_json"|"url", "mime_type", "revised_prompt",
                            "respect_moderation"?}]}

`size` and `style` are refused by xAI ("Argument not supported: size"), so sizes map to an
aspect ratio and resolution. Moderation is silent: an item with `respect_moderation: false`
(vercel/ai#19168, 2026-08-20) is a block; an empty `data` is reported as no image. Synchronous:
no progress, no remote cancel, no job id; no negative prompt, seed or steps.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import field
from typing import Any, ClassVar, Literal, cast

import httpx

from ..base import ApiOptions, Backend, BackendOptions, Capability, JobContext
from ..errors import ErrorCode, ImagenError
from ..http import error_for_response, map_transport_errors, response_json
from ..models import GenerationRequest, ImageResult
from ..schema import bounds
from ..text import one_line
from .aspect import Shape, choose_shape, nominal_size, preset_sizes
from .inline_images import InlineImage, check_complete, decode_base64_image, read_reference

BASE_URL = "https://api.x.ai/v1"
DEFAULT_MODEL = "grok-imagine-image"
RATIOS = (
    "1:1", "3:4", "4:3", "9:16", "16:9", "2:3", "3:2", "9:19.5", "19.5:9", "9:20", "20:9",
    "1:2", "2:1",
)  # fmt: skip
"""`aspect_ratio` values besides "auto" (providers.md §6)."""
RESOLUTION_MEGAPIXELS: Mapping[str, float] = {"1k": 1024**2 / 1e6, "2k": 2048**2 / 1e6}
MAX_REFERENCES = 5
"""Edits take 3-5 references depending on the model (providers.md §6); more are refused."""
MAX_REFERENCE_BYTES = 20_000_000
REFERENCE_TYPES = frozenset({"image/png", "image/jpeg", "image/webp"})
QUALITY_MODELS = frozenset({"grok-imagine-image-2.0"})
"""Models that take `quality` (xai-sdk docstring; REST unconfirmed)."""
CONNECT_TIMEOUT_S = 10.0

PRICES: Mapping[str, float] = {
    "grok-imagine-image": 0.02,
    "grok-imagine-image-2.0": 0.07,
    "grok-imagine-image-quality": 0.07,
}
PRICES_SOURCE = (
    "USD per image, providers.md §6 (third-party: crazyrouter for grok-imagine-image; "
    "laozhang, venice for 2.0; quality unconfirmed; upper ends taken), read 2026-11-29"
)
RETIRED: Mapping[str, str] = {
    "grok-imagine-image-pro": "was deprecated on 2026-05-15",
    "grok-2-image-1212": "is gone from xAI's model list",
    "grok-2-image": "is gone from xAI's model list",
}
_MODERATION = re.compile(r"moderat|content polic|safety", re.I)
_BAD_KEY = re.compile(r"api key", re.I)
_MASKED = re.compile(r"\S{0,8}\*{3,}\S{0,8}")
"""xAI quotes a masked key ("xa***yz") in its bad-key message; we quote none of it."""

AspectRatio = Literal[
    "auto", "1:1", "3:4", "4:3", "9:16", "16:9", "2:3", "3:2", "9:19.5", "19.5:9", "9:20",
    "20:9", "1:2", "2:1",
]  # fmt: skip


class XaiOptions(ApiOptions):
    """Options of the `xai` backend (field names as xAI's API spells them)."""

    base_url: str = BASE_URL
    """Where the API lives (a gateway speaking xAI's images API welcome)."""
    api_key_env: str | None = "XAI_API_KEY"
    """Name of the environment variable that holds the key (never the key itself)."""
    model: str | None = DEFAULT_MODEL
    """Grok Imagine model: grok-imagine-image, grok-imagine-image-2.0, …-quality."""
    timeout_s: float = field(default=180.0, metadata=bounds(gt=0))
    """Give up on one image after this many seconds (a call takes about 10-20 s)."""
    aspect_ratio: AspectRatio | None = None
    """aspect_ratio; unset = the requested size's ratio (a one-image edit keeps its own)."""
    resolution: Literal["1k", "2k"] | None = None
    """resolution (about 1 or 4 MP); unset = nearest to the requested size."""
    quality: Literal["low", "medium"] | None = None
    """quality, grok-imagine-image-2.0 only; unset = the model's default (medium)."""
    response_format: Literal["b64_json", "url"] = "b64_json"
    """b64_json = the image inside the reply; url = a temporary link, downloaded at once."""


class XaiBackend(Backend):
    """xAI Grok Imagine: text to image and edits from reference images."""

    type_name = "xai"
    description = "xAI Grok Imagine images (generations and JSON edits); needs a key."
    Options = XaiOptions
    capabilities = frozenset({Capability.TXT2IMG, Capability.REFERENCES})
    sizes: ClassVar[tuple[str, ...]] = preset_sizes(RATIOS, RESOLUTION_MEGAPIXELS["1k"])
    """1k presets, one per aspect ratio; 2k sizes of the same ratios are accepted too."""
    needs_http = True

    # -- before anything is sent ----------------------------------------------------------

    def shape(self, request: GenerationRequest, options: BackendOptions) -> Shape | None:
        """Aspect ratio and resolution to ask for; None = `aspect_ratio = "auto"`.
        Raises `ImagenError(BAD_REQUEST)` naming the allowed ratios."""
        opts = cast(XaiOptions, options)
        if opts.aspect_ratio == "auto":
            return None
        return choose_shape(
            request.width,
            request.height,
            ratios=RATIOS,
            tiers=RESOLUTION_MEGAPIXELS,
            ratio=opts.aspect_ratio,
            tier=opts.resolution,
            who=self.name,
        )

    def normalize(self, request: GenerationRequest, options: BackendOptions) -> GenerationRequest:
        """The request at the nominal size of its aspect ratio and resolution. Raises
        `ImagenError(BAD_REQUEST)` naming the allowed ratios, or for too many references."""
        if len(request.references) > MAX_REFERENCES:
            raise ImagenError(
                ErrorCode.BAD_REQUEST, f"xai takes at most {MAX_REFERENCES} reference images"
            )
        shape = self.shape(request, options)
        if shape is None:
            return request
        width, height = nominal_size(shape.ratio, RESOLUTION_MEGAPIXELS[shape.tier])
        return request.replace(width=width, height=height)

    def warnings(self, request: GenerationRequest, options: BackendOptions) -> list[str]:
        opts = cast(XaiOptions, options)
        model = opts.model or DEFAULT_MODEL
        notes = []
        if model in RETIRED:
            notes.append(f"model {model} {RETIRED[model]} (a gateway may still serve it)")
        if opts.quality and model not in QUALITY_MODELS:
            notes.append(f"quality is documented for {', '.join(sorted(QUALITY_MODELS))} only")
        return notes

    def estimate_cost(self, request: GenerationRequest, options: BackendOptions) -> float | None:
        """USD per image from PRICES (see PRICES_SOURCE); None for an unknown model."""
        return PRICES.get(cast(XaiOptions, options).model or DEFAULT_MODEL)

    # -- one image ------------------------------------------------------------------------

    async def generate(self, request: GenerationRequest, ctx: JobContext) -> ImageResult:
        """One image: a generation, or an edit when there are references.

        Raises `ImagenError`: bad_request, auth_failed, rate_limited/unavailable (retried by
        the engine), safety_blocked, no_image (empty, truncated or non-image payload).
        """
        opts = cast(XaiOptions, ctx.options)
        shape = self.shape(request, opts)
        content, asked = await asyncio.to_thread(encoded_body, request, shape, opts)
        path = "/images/edits" if request.references else "/images/generations"
        url = opts.base_url.rstrip("/") + path
        ctx.progress(0.05, "sent to xai")
        payload = await _post(ctx, url, content, self.api_key(), opts.timeout_s)
        item = parse_reply(payload, self.name)
        if item.get("b64_json"):
            data = decode_base64_image(str(item["b64_json"]), self.name)
        else:
            ctx.progress(0.8, "downloading")
            data = await _download(ctx, str(item.get("url") or ""), self.name, opts.timeout_s)
        mime = check_complete(data, self.name)
        revised = item.get("revised_prompt")
        return ImageResult(
            data=data,
            mime_type=mime,
            revised_prompt=one_line(revised, 4000) if isinstance(revised, str) else None,
            cost_usd=self.estimate_cost(request, opts),
            model=opts.model or DEFAULT_MODEL,
            metadata=_metadata(payload, asked),
        )


# -- pure request building and response parsing -------------------------------------------


def encoded_body(
    request: GenerationRequest, shape: Shape | None, opts: XaiOptions
) -> tuple[bytes, dict[str, Any]]:
    """The JSON-encoded body and the shape fields it asks for (blocking: references are read
    and base64-encoded here; run it in a worker thread)."""
    body = build_body(request, _read_references(request.references), shape, opts)
    asked: dict[str, Any] = {
        k: body[k] for k in ("aspect_ratio", "resolution", "quality") if k in body
    }
    return json.dumps(body).encode(), asked


def _read_references(paths: Sequence[Any]) -> list[InlineImage]:
    return [
        read_reference(p, max_bytes=MAX_REFERENCE_BYTES, allowed=REFERENCE_TYPES) for p in paths
    ]


def build_body(
    request: GenerationRequest, refs: Sequence[InlineImage], shape: Shape | None, opts: XaiOptions
) -> dict[str, Any]:
    """The JSON body for /images/generations (no refs) or /images/edits (refs as data URIs).

    A one-reference edit keeps the reference's ratio unless `aspect_ratio` is set explicitly.
    """
    body: dict[str, Any] = {
        "model": opts.model or DEFAULT_MODEL,
        "prompt": request.prompt,
        "n": 1,
        "response_format": opts.response_format,
    }
    keep_ratio = len(refs) == 1 and opts.aspect_ratio is None
    if shape is not None and not keep_ratio:
        body["aspect_ratio"] = shape.ratio
    elif opts.aspect_ratio == "auto":
        body["aspect_ratio"] = "auto"
    if opts.resolution or shape is not None:
        body["resolution"] = opts.resolution or (shape.tier if shape else None)
    if opts.quality:
        body["quality"] = opts.quality
    images = [{"type": "image_url", "url": r.data_uri()} for r in refs]
    if len(images) == 1:
        body["image"] = images[0]
    elif images:
        body["images"] = images
    return body


def parse_reply(payload: Any, who: str) -> dict[str, Any]:
    """The one image item of a reply. Raises `ImagenError`: safety_blocked when moderation
    flagged it, no_image when there is no item or it holds neither `b64_json` nor `url`."""
    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, list) or not data or not isinstance(data[0], dict):
        raise ImagenError(
            ErrorCode.NO_IMAGE,
            f"{who} sent no image (xAI answers so when moderation blocks the whole request)",
        )
    item = data[0]
    if item.get("respect_moderation") is False:
        raise ImagenError(ErrorCode.SAFETY_BLOCKED, f"{who}: the image failed xAI moderation")
    if not item.get("b64_json") and not item.get("url"):
        raise ImagenError(ErrorCode.NO_IMAGE, f"{who} sent an item without b64_json or url")
    return item


def error_for(response: httpx.Response, key: str | None = None) -> ImagenError:
    """The taxonomy error of a failed xAI response: the shared mapping, except that a 400
    whose message speaks of moderation is safety_blocked and one about the API key (xAI
    answers a wrong key with 400 "Incorrect API key provided", ⚠️ from client reports) is
    auth_failed: xAI bodies `{"code", "error": "<message>"}` carry no machine code for them.
    Any key, masked or not, is cut from the detail."""
    error = error_for_response(response)
    detail = _MASKED.sub("***", error.detail)
    if key:
        detail = detail.replace(key, "***")
    code = error.code
    if code is ErrorCode.BAD_REQUEST and _MODERATION.search(detail):
        code = ErrorCode.SAFETY_BLOCKED
    elif code is ErrorCode.BAD_REQUEST and _BAD_KEY.search(detail):
        code = ErrorCode.AUTH_FAILED
    return ImagenError(code, detail, retry_after=error.retry_after, status=error.status)


def _metadata(payload: dict[str, Any], asked: dict[str, Any]) -> dict[str, Any]:
    meta: dict[str, Any] = dict(asked)
    if isinstance(payload.get("created"), int):
        meta["created"] = payload["created"]
    item = payload["data"][0]
    if isinstance(item.get("mime_type"), str):
        meta["mime_type"] = one_line(item["mime_type"], 40)
    if isinstance(payload.get("usage"), dict):
        meta["usage"] = {
            one_line(k, 60): v for k, v in payload["usage"].items() if isinstance(v, int | float)
        }
    return meta


# -- thin I/O -----------------------------------------------------------------------------


def _timeout(timeout_s: float) -> httpx.Timeout:
    return httpx.Timeout(timeout_s, connect=min(CONNECT_TIMEOUT_S, timeout_s))


async def _post(
    ctx: JobContext, url: str, content: bytes, key: str | None, timeout_s: float
) -> Any:
    """POST the JSON body with the bearer key; the decoded reply or the taxonomy error."""
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    with map_transport_errors(url):
        response = await ctx.http.post(
            url, content=content, headers=headers, timeout=_timeout(timeout_s)
        )
    if response.status_code >= 300:
        raise error_for(response, key)
    return response_json(response, url)


async def _download(ctx: JobContext, url: str, who: str, timeout_s: float) -> bytes:
    """The bytes behind a result URL (a `data:` URI is decoded). No key is sent: the link is
    pre-signed and may live on another host. Raises `ImagenError(NO_IMAGE)` for a URL that is
    not http(s) or data:, and the taxonomy error for a failed download."""
    if url.startswith("data:"):
        return decode_base64_image(url, who)
    if not url.startswith(("https://", "http://")):
        raise ImagenError(ErrorCode.NO_IMAGE, f"{who} sent an unusable image URL")
    with map_transport_errors(url):
        response = await ctx.http.get(url, timeout=_timeout(timeout_s))
    if response.status_code >= 300:
        raise error_for_response(response)
    return response.content
