"""The `gemini` backend: Gemini image models through `generateContent` (Developer API).

Protocol (shared/reference/providers.md §2, re-checked 2026-11-29 against google-genai 3.6.1
`models.py`/`types.py` and https://ai.google.dev/api/generate-content):

    POST {base_url}/models/{model}:streamGenerateContent?alt=sse   (stream = true, the default)
    POST {base_url}/models/{model}:generateContent                  (stream = false)
    header x-goog-api-key: <key>          (never `?key=`: a URL lands in error messages)
    {"contents": [{"role": "user", "parts": [{"text"}, {"inlineData": {"mimeType", "data"}}…]}],
     "generationConfig": {"responseModalities": ["IMAGE"], "candidateCount": 1, "seed",
                          "imageConfig": {"aspectRatio", "imageSize"},
                          "thinkingConfig": {"thinkingLevel", "includeThoughts"}}}

The image is the last non-thought part with `inlineData`; parts with `"thought": true` are
interim drafts (Gemini 3 Pro), shown as previews. Blocks arrive as HTTP 200: no candidates and
`promptFeedback.blockReason`, or a safety `finishReason`; both become `safety_blocked`.
One image per call (no `n`); no negative prompt, no steps, no remote cancel (closing the stream
is all there is) and no job id to resume by.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import field
from typing import Any, ClassVar, Literal, cast
from urllib.parse import quote

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
from ..schema import bounds
from ..text import one_line
from .aspect import Shape, check_tier, choose_shape, nominal_size, preset_sizes
from .gemini_models import (
    ALL_RATIOS,
    ALL_TIERS,
    DEFAULT_MODEL,
    TIER_MEGAPIXELS,
    model_info,
    retirement_note,
)
from .inline_images import InlineImage, check_complete, decode_base64_image, read_reference

BASE_URL = "https://generativelanguage.googleapis.com/v1"
REFERENCE_TYPES = frozenset({"image/png", "image/jpeg", "image/webp"})
MAX_REQUEST_BYTES = 100_000_000
"""Inline data limit of one request, base64 included (providers.md §2, since 2026-01-12)."""
MAX_REFERENCES = 14
"""Gemini 3 Pro Image takes up to 14 reference images (providers.md §2)."""
SEED_MODULUS = 2**31
"""`generationConfig.seed` is an int32 (ai.google.dev/api/generate-content, 2026-11-29)."""
CONNECT_TIMEOUT_S = 10.0

AspectRatio = Literal[
    "auto", "1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9",
    "1:4", "4:1", "1:8", "8:1",
]  # fmt: skip
ImageSize = Literal["512", "1K", "2K", "4K"]
ThinkingLevel = Literal["MINIMAL", "LOW", "MEDIUM", "HIGH", "XHIGH"]


class GeminiOptions(ApiOptions):
    """Options of the `gemini` backend (field names as the API spells them, snake_case)."""

    base_url: str = BASE_URL
    """Where the API lives (a gateway or proxy speaking generateContent welcome)."""
    api_key_env: str | None = "GEMINI_API_KEY"
    """Name of the environment variable that holds the key (never the key itself)."""
    model: str | None = DEFAULT_MODEL
    """Gemini image model, e.g. gemini-3.1-flash-image or gemini-3-pro-image."""
    timeout_s: float = field(default=300.0, metadata=bounds(gt=0))
    """Give up on one image after this many seconds (4K images can take 1-2 minutes)."""
    aspect_ratio: AspectRatio | None = None
    """imageConfig.aspectRatio; unset = the requested size's ratio; auto = the reference's."""
    image_size: ImageSize | None = None
    """imageConfig.imageSize tier (about 0.25, 1, 4 or 16 MP); unset = nearest to the size."""
    thinking_level: ThinkingLevel | None = None
    """thinkingConfig.thinkingLevel; unset = the model's default."""
    include_thoughts: bool = False
    """thinkingConfig.includeThoughts: stream interim draft images as previews (Gemini 3 Pro)."""
    stream: bool = True
    """Use streamGenerateContent (SSE) to report progress; false = one generateContent call."""


class GeminiBackend(Backend):
    """Gemini image generation and editing ("Nano Banana") over the Gemini Developer API."""

    type_name = "gemini"
    description = "Google Gemini image models (Nano Banana) via generateContent; needs a key."
    Options = GeminiOptions
    capabilities = frozenset(
        {
            Capability.TXT2IMG,
            Capability.REFERENCES,
            Capability.SEED,
            Capability.PROGRESS,
            Capability.PREVIEW,
        }
    )
    sizes: ClassVar[tuple[str, ...]] = preset_sizes(ALL_RATIOS, TIER_MEGAPIXELS["1K"])
    """1K presets, one per aspect ratio; 512/2K/4K sizes of the same ratios are accepted too."""
    needs_http = True

    # -- before anything is sent ----------------------------------------------------------

    def shape(self, request: GenerationRequest, options: BackendOptions) -> Shape | None:
        """The aspect ratio and size tier to ask for; None = let the model follow the reference
        (`aspect_ratio = "auto"`). Raises `ImagenError(BAD_REQUEST)` naming what is allowed."""
        opts = cast(GeminiOptions, options)
        info = model_info(opts.model or DEFAULT_MODEL)
        tiers = {t: TIER_MEGAPIXELS[t] for t in (info.tiers if info else ALL_TIERS)}
        ratios = info.ratios if info else ALL_RATIOS
        who = f"{self.name} ({one_line(opts.model or DEFAULT_MODEL, 80)})"
        if opts.aspect_ratio == "auto":
            if opts.image_size is not None:
                check_tier(opts.image_size, tiers, who)
            return None
        if opts.aspect_ratio is not None and opts.aspect_ratio not in ratios:
            raise ImagenError(
                ErrorCode.BAD_REQUEST,
                f"{who} has no aspect ratio {opts.aspect_ratio}; allowed: " + ", ".join(ratios),
            )
        return choose_shape(
            request.width,
            request.height,
            ratios=ratios,
            tiers=tiers,
            ratio=opts.aspect_ratio,
            tier=opts.image_size,
            who=who,
        )

    def normalize(self, request: GenerationRequest, options: BackendOptions) -> GenerationRequest:
        """The request at the nominal size of its aspect ratio and tier (the real size is read
        from the image). Raises `ImagenError(BAD_REQUEST)` naming the allowed ratios or tiers,
        or when there are more references than Gemini takes."""
        if len(request.references) > MAX_REFERENCES:
            raise ImagenError(
                ErrorCode.BAD_REQUEST, f"gemini takes at most {MAX_REFERENCES} reference images"
            )
        shape = self.shape(request, options)
        if shape is None:
            return request
        width, height = nominal_size(shape.ratio, TIER_MEGAPIXELS[shape.tier])
        return request.replace(width=width, height=height)

    def warnings(self, request: GenerationRequest, options: BackendOptions) -> list[str]:
        note = retirement_note(cast(GeminiOptions, options).model or DEFAULT_MODEL)
        return [note] if note else []

    def estimate_cost(self, request: GenerationRequest, options: BackendOptions) -> float | None:
        """USD per image from the model's price per tier (`gemini_models.PRICES_SOURCE`);
        None for a model without a known price."""
        opts = cast(GeminiOptions, options)
        info = model_info(opts.model or DEFAULT_MODEL)
        if info is None:
            return None
        try:
            shape = self.shape(request, options)
        except ImagenError:
            return None
        tier = shape.tier if shape else (opts.image_size or "1K")
        return info.prices.get(tier)

    # -- one image ------------------------------------------------------------------------

    async def generate(self, request: GenerationRequest, ctx: JobContext) -> ImageResult:
        """One image: references read off the loop, one request, the reply parsed.

        Raises `ImagenError`: bad_request (a reference or the request refused), auth_failed,
        rate_limited/unavailable (retried by the engine), safety_blocked, no_image.
        """
        opts = cast(GeminiOptions, ctx.options)
        shape = self.shape(request, opts)
        content = await asyncio.to_thread(encoded_body, request, shape, opts)
        url = endpoint(opts.base_url, opts.model or DEFAULT_MODEL, stream=opts.stream)
        reply = GeminiReply(who=f"{self.name} ({one_line(opts.model or DEFAULT_MODEL, 80)})")
        ctx.progress(0.02, "sent to gemini")
        headers = auth_headers(self.api_key())
        if opts.stream:
            await _post_stream(ctx, url, content, headers, reply, opts.timeout_s)
        else:
            reply.absorb(await _post_json(ctx, url, content, headers, opts.timeout_s))
        image = reply.image()
        ctx.progress(1.0, "image received")
        return ImageResult(
            data=image.data,
            mime_type=image.mime_type,
            seed=request.seed,
            cost_usd=self.estimate_cost(request, opts),
            model=reply.model_version or opts.model,
            metadata=reply.metadata(),
        )


# -- pure request building ----------------------------------------------------------------


def read_references(paths: Sequence[Any]) -> list[InlineImage]:
    """Every reference as inline data (blocking). Raises `ImagenError(BAD_REQUEST)` naming an
    unreadable file, one not PNG/JPEG/WebP, or a total over MAX_REQUEST_BYTES once base64."""
    refs = [read_reference(p, max_bytes=MAX_REQUEST_BYTES, allowed=REFERENCE_TYPES) for p in paths]
    total = sum(len(r.data) for r in refs) * 4 // 3
    if total > MAX_REQUEST_BYTES:
        raise ImagenError(
            ErrorCode.BAD_REQUEST,
            f"reference images total {total / 1e6:.0f} MB as base64; "
            f"Gemini takes at most {MAX_REQUEST_BYTES / 1e6:.0f} MB inline",
        )
    return refs


def encoded_body(request: GenerationRequest, shape: Shape | None, opts: GeminiOptions) -> bytes:
    """References read and the body built and JSON-encoded (blocking: run it in a worker
    thread; a 10 MB reference costs about 0.3 s here, too long to hold the event loop)."""
    refs = read_references(request.references)
    return json.dumps(build_body(request, refs, shape, opts)).encode()


def build_body(
    request: GenerationRequest,
    refs: Sequence[InlineImage],
    shape: Shape | None,
    opts: GeminiOptions,
) -> dict[str, Any]:
    """The generateContent JSON body (camelCase, as the API documents it)."""
    parts: list[dict[str, Any]] = [{"text": request.prompt}]
    parts += [{"inlineData": {"mimeType": r.mime_type, "data": r.base64()}} for r in refs]
    config: dict[str, Any] = {"responseModalities": ["IMAGE"], "candidateCount": 1}
    image_config: dict[str, str] = {}
    if shape is not None:
        image_config = {"aspectRatio": shape.ratio, "imageSize": shape.tier}
    elif opts.image_size:
        image_config = {"imageSize": opts.image_size}
    if image_config:
        config["imageConfig"] = image_config
    if request.seed is not None:
        config["seed"] = request.seed % SEED_MODULUS
    thinking: dict[str, Any] = {}
    if opts.thinking_level:
        thinking["thinkingLevel"] = opts.thinking_level
    if opts.include_thoughts:
        thinking["includeThoughts"] = True
    if thinking:
        config["thinkingConfig"] = thinking
    return {"contents": [{"role": "user", "parts": parts}], "generationConfig": config}


def endpoint(base_url: str, model: str, *, stream: bool) -> str:
    """`{base}/models/{model}:generateContent` or `:streamGenerateContent?alt=sse`; a leading
    `models/` in the model name is accepted (the API's resource-name form)."""
    name = quote(model.removeprefix("models/"), safe="-._~@")
    method = "streamGenerateContent?alt=sse" if stream else "generateContent"
    return f"{base_url.rstrip('/')}/models/{name}:{method}"


def auth_headers(key: str | None) -> dict[str, str]:
    """JSON content type, and `x-goog-api-key` when there is a key (a keyless gateway gets
    none)."""
    headers = {"Content-Type": "application/json"}
    return {**headers, "x-goog-api-key": key} if key else headers


# -- pure response parsing ----------------------------------------------------------------

SAFETY_FINISH = frozenset(
    {
        "SAFETY",
        "PROHIBITED_CONTENT",
        "BLOCKLIST",
        "SPII",
        "RECITATION",
        "IMAGE_SAFETY",
        "IMAGE_PROHIBITED_CONTENT",
        "IMAGE_RECITATION",
        "MODEL_ARMOR",
        "JAILBREAK",
    }
)
"""Finish reasons that mean a policy block (google-genai 3.6.1 `types.FinishReason`)."""
NORMAL_FINISH = frozenset({"STOP", "FINISH_REASON_UNSPECIFIED"})
MAX_TEXT_CHARS = 500


class GeminiReply:
    """A generateContent reply read chunk by chunk (a stream) or at once (one response).

    `absorb(payload)` takes one decoded GenerateContentResponse and returns the interim
    (thought) images it carried; `image()` then gives the final image or raises the block.
    """

    def __init__(self, who: str) -> None:
        self.who = who
        self.finals: list[str] = []
        """Base64 of every non-thought image part, in order (the last one wins)."""
        self.drafts = 0
        self.thinking = False
        self.texts: list[str] = []
        self.finish_reason = ""
        self.block_reason = ""
        self.block_message = ""
        self.usage: dict[str, Any] = {}
        self.model_version: str | None = None
        self.response_id: str | None = None

    def absorb(self, payload: Any) -> list[bytes]:
        """Read one response (chunk). Raises the error an in-stream `error` object carries."""
        if not isinstance(payload, dict):
            raise ImagenError(ErrorCode.UNAVAILABLE, f"{self.who} sent a reply that is not JSON")
        if "error" in payload:
            raise error_for_payload(payload)
        self._feedback(payload.get("promptFeedback"))
        self.usage = payload.get("usageMetadata") or self.usage
        if payload.get("modelVersion"):
            self.model_version = one_line(payload["modelVersion"], 100)
        if payload.get("responseId"):
            self.response_id = one_line(payload["responseId"], 100)
        drafts: list[bytes] = []
        for candidate in payload.get("candidates") or []:
            if isinstance(candidate, dict):
                drafts += self._candidate(candidate)
        return drafts

    def _feedback(self, feedback: Any) -> None:
        if isinstance(feedback, dict) and feedback.get("blockReason"):
            self.block_reason = one_line(feedback["blockReason"], 40)
            self.block_message = one_line(feedback.get("blockReasonMessage") or "", 200)

    def _candidate(self, candidate: dict[str, Any]) -> list[bytes]:
        if candidate.get("finishReason"):
            self.finish_reason = one_line(candidate["finishReason"], 40)
        drafts = []
        for part in (candidate.get("content") or {}).get("parts") or []:
            if not isinstance(part, dict):
                continue
            inline = part.get("inlineData") or part.get("inline_data")
            if isinstance(inline, dict) and isinstance(inline.get("data"), str):
                if part.get("thought"):
                    self.drafts += 1
                    drafts += _draft(inline["data"])
                else:
                    self.finals.append(inline["data"])
            elif isinstance(part.get("text"), str):
                if part.get("thought"):
                    self.thinking = True
                else:
                    self.texts.append(part["text"])
        return drafts

    def progress(self) -> tuple[float, str]:
        """A fraction and a message for what has arrived so far (Gemini sends no percentage)."""
        if self.finals:
            return 0.95, "image received"
        if self.drafts:
            return min(0.9, 0.4 + 0.15 * self.drafts), f"draft image {self.drafts}"
        if self.thinking:
            return 0.2, "thinking"
        return 0.05, "waiting for gemini"

    def image(self) -> InlineImage:
        """The final image. Raises `ImagenError`: safety_blocked for a blocked prompt or a
        safety finish reason, no_image for a reply without a (whole) image."""
        if self.block_reason:
            detail = f"prompt blocked: {self.block_reason}"
            if self.block_message:
                detail += f": {self.block_message}"
            raise ImagenError(ErrorCode.SAFETY_BLOCKED, f"{self.who} {detail}")
        if self.finish_reason in SAFETY_FINISH:
            raise ImagenError(
                ErrorCode.SAFETY_BLOCKED, f"{self.who} stopped: {self.finish_reason}{self._said()}"
            )
        if not self.finals:
            why = (
                f"finish reason {one_line(self.finish_reason, 40)}"
                if self.finish_reason
                else ("the reply ended first")
            )
            raise ImagenError(ErrorCode.NO_IMAGE, f"{self.who} sent no image ({why}){self._said()}")
        data = decode_base64_image(self.finals[-1], self.who)
        return InlineImage(check_complete(data, self.who), data)

    def _said(self) -> str:
        text = " ".join(self.texts).strip()
        return f"; it said: {one_line(text, 200)}" if text else ""

    def metadata(self) -> dict[str, Any]:
        """Provider metadata for the sidecar: finish reason, usage, model version, reply text."""
        meta: dict[str, Any] = {"finish_reason": self.finish_reason or None}
        if self.usage:
            meta["usage"] = _clean(self.usage)
        if self.model_version:
            meta["model_version"] = self.model_version
        if self.response_id:
            meta["response_id"] = self.response_id
        if self.texts:
            meta["text"] = one_line(" ".join(self.texts), MAX_TEXT_CHARS)
        if self.drafts:
            meta["draft_images"] = self.drafts
        return meta


def _draft(b64: str) -> list[bytes]:
    """A thought image as preview bytes; [] when it does not decode (a preview is optional)."""
    try:
        return [decode_base64_image(b64, "gemini")]
    except ImagenError:
        return []


def _clean(value: Any, depth: int = 0) -> Any:
    """Provider JSON made safe for a sidecar: numbers and bools kept, strings one visible
    line, containers at most 4 deep."""
    if isinstance(value, bool | int | float) or value is None:
        return value
    if depth >= 4:
        return None
    if isinstance(value, dict):
        return {one_line(k, 60): _clean(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v, depth + 1) for v in value[:32]]
    return one_line(value, 200)


# -- thin I/O -----------------------------------------------------------------------------


def _timeout(timeout_s: float) -> httpx.Timeout:
    """Reads may take as long as the job may (the engine enforces `timeout_s` itself)."""
    return httpx.Timeout(timeout_s, connect=min(CONNECT_TIMEOUT_S, timeout_s))


async def _post_stream(
    ctx: JobContext,
    url: str,
    content: bytes,
    headers: dict[str, str],
    reply: GeminiReply,
    timeout_s: float,
) -> None:
    """POST to streamGenerateContent and feed every SSE chunk to `reply`, reporting progress
    and publishing draft images as previews."""
    events = iter_sse(
        ctx.http, "POST", url, content=content, headers=headers, timeout=_timeout(timeout_s)
    )
    async for event in events:
        try:
            payload = json.loads(event.data)
        except json.JSONDecodeError:
            raise ImagenError(
                ErrorCode.UNAVAILABLE, f"{one_line(url, 200)} sent a chunk that is not JSON"
            ) from None
        for draft in reply.absorb(payload):
            ctx.preview(draft)
        ctx.progress(*reply.progress())


async def _post_json(
    ctx: JobContext, url: str, content: bytes, headers: dict[str, str], timeout_s: float
) -> Any:
    """POST to generateContent; the decoded reply. HTTP errors raised as the taxonomy."""
    with map_transport_errors(url):
        response = await ctx.http.post(
            url, content=content, headers=headers, timeout=_timeout(timeout_s)
        )
    raise_for_status(response)
    return response_json(response, url)
