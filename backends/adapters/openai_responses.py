"""The `openai-responses` backend: the Responses API `image_generation` tool over SSE, billed to
an API key or to an existing ChatGPT plan through the Codex CLI's login.

Protocol (`shared/reference/providers.md` §1b, §1c; openai-python 3.57.0 `types/responses/
tool.py`, `response_image_gen_call_*_event.py`, `response_output_item.py`; openai/codex
`codex-rs/codex-api/src/requests/{headers,responses}.rs`; checked 2026-11-29):

- `POST {base}/responses`, `stream: true`, `tools: [{"type": "image_generation", size, quality,
  background, output_format, partial_images, model?, action?, input_image_mask?...}]`; the
  request's `model` is a chat model. With an API key the tool is forced (`tool_choice: {"type":
  "image_generation"}`); over a ChatGPT login Codex sends `tool_choice: "auto"`, `store: false`
  and always an `instructions` string, so we do too.
- Events: `response.created` → `response.image_generation_call.in_progress` → `.generating` →
  `.partial_image` {`partial_image_b64`, `partial_image_index`} → `.completed` (no image) →
  `response.output_item.done` {item: {"type": "image_generation_call", "status", "result": B64,
  "revised_prompt", "error"?}} → `response.completed` {response: {id, usage}}. Errors: an
  `error` event, `response.failed` {response: {error}}, or a failed item (`moderation_blocked`
  = blocked). The bytes come from the done item, never from the last partial.
- ChatGPT login: `POST https://chatgpt.com/backend-api/codex/responses` (undocumented, may
  change), `Authorization: Bearer <access_token>`, `ChatGPT-Account-ID`, `session_id`. On a 401
  the login is re-read once; an unchanged token means the login expired: run `codex login`.

No cancel endpoint for a non-background response: cancelling closes the stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal, cast

import httpx

from ..base import ApiOptions, Backend, BackendOptions, Capability, JobContext
from ..errors import ErrorCode, ImagenError
from ..http import error_for_payload, iter_sse
from ..models import GenerationRequest, ImageResult
from ..text import one_line
from .codex_auth import CodexLogin, auth_file, login_problem, read_codex_login
from .image_payload import decode_image, off_loop
from .openai_images import model_warnings
from .openai_models import PRESET_SIZES, ModelFamily
from .openai_options import ImageFields, image_fields, mask_path, normalize_request
from .openai_pricing import estimate_image_cost
from .reference_files import ReferenceFile, read_reference

API_BASE_URL = "https://api.openai.com/v1"
CODEX_BASE_URL = "https://chatgpt.com/backend-api/codex"
DEFAULT_CHAT_MODEL = "gpt-5"
DEFAULT_IMAGE_MODEL = "gpt-image-2.6-sunburst"
"""The tool's default image model (providers.md §1b); used for checks and prices when unset."""
DEFAULT_INSTRUCTIONS = (
    "You make images. Call the image_generation tool once with the user's prompt, unchanged "
    "in meaning, and the attached images as references."
)
USER_AGENT = "imagen-tui"


class OpenAIResponsesOptions(ImageFields, ApiOptions):
    """Options of the `openai-responses` backend type."""

    auth: Literal["api_key", "codex"] = "api_key"
    """api_key: bill the key in api_key_env. codex: use the ChatGPT login of the Codex CLI
    (read-only from $CODEX_HOME/auth.json; run `codex login` first; plan limits apply)."""
    base_url: str | None = None  # type: ignore[assignment]
    """Where the API lives; unset = https://api.openai.com/v1, or with auth = "codex"
    https://chatgpt.com/backend-api/codex (undocumented, may change)."""
    api_key_env: str | None = "OPENAI_API_KEY"
    """With auth = "api_key": the environment variable that holds the key (never the key)."""
    model: str | None = DEFAULT_CHAT_MODEL
    """The chat model that calls the image tool (one your key or plan offers)."""
    image_model: str | None = None
    """The tool's image model; unset = the provider's default (gpt-image-2.6-sunburst)."""
    action: Literal["auto", "generate", "edit"] | None = None
    """Whether the tool generates or edits; unset = the provider decides."""
    instructions: str = DEFAULT_INSTRUCTIONS
    """System instructions sent with every request (the ChatGPT backend requires some)."""
    codex_home: str | None = None
    """Codex home holding auth.json; unset = $CODEX_HOME, else ~/.codex."""

    def checked_model(self) -> str:
        return self.image_model or DEFAULT_IMAGE_MODEL

    def url(self) -> str:
        base = self.base_url or (CODEX_BASE_URL if self.auth == "codex" else API_BASE_URL)
        return base.rstrip("/") + "/responses"


# --- pure request building ------------------------------------------------------------------


def tool_spec(
    request: GenerationRequest,
    opts: OpenAIResponsesOptions,
    family: ModelFamily | None,
    mask: ReferenceFile | None,
) -> dict[str, Any]:
    """The `image_generation` tool object, with the provider's field names."""
    fields = image_fields(opts, family, editing=bool(request.references))
    fields.pop("response_format", None)  # dall-e only; never a tool field
    tool: dict[str, Any] = {"type": "image_generation", "size": request.size, **fields}
    if opts.partial_images:
        tool["partial_images"] = opts.partial_images
    if opts.image_model:
        tool["model"] = opts.image_model
    if opts.action:
        tool["action"] = opts.action
    if mask is not None:
        tool["input_image_mask"] = {"image_url": mask.data_uri()}
    return tool


def responses_body(
    request: GenerationRequest,
    opts: OpenAIResponsesOptions,
    family: ModelFamily | None,
    references: list[ReferenceFile],
    mask: ReferenceFile | None,
) -> dict[str, Any]:
    """The JSON body of `POST /responses`: the prompt and references as one user message."""
    content: list[dict[str, Any]] = [{"type": "input_text", "text": request.prompt}]
    content += [{"type": "input_image", "image_url": ref.data_uri()} for ref in references]
    codex = opts.auth == "codex"
    return {
        "model": opts.model or DEFAULT_CHAT_MODEL,
        "instructions": opts.instructions,
        "input": [{"role": "user", "content": content}],
        "tools": [tool_spec(request, opts, family, mask)],
        "tool_choice": "auto" if codex else {"type": "image_generation"},
        "stream": True,
        "store": False,
    }


def request_headers(
    opts: OpenAIResponsesOptions, token: str | None, account: str | None
) -> dict[str, str]:
    """Auth and routing headers; `session_id` is a fresh conversation id per request."""
    headers = {"User-Agent": USER_AGENT}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if opts.auth == "codex":
        headers["session_id"] = str(uuid.uuid4())
        if account:
            headers["ChatGPT-Account-ID"] = account
    return headers


# --- pure event parsing ---------------------------------------------------------------------


@dataclass
class StreamState:
    """What a response stream has said so far."""

    response_id: str | None = None
    image: bytes | None = None
    revised_prompt: str | None = None
    item: dict[str, Any] = field(default_factory=dict)
    """The done image_generation_call item, minus its `result` bytes."""
    usage: dict[str, Any] | None = None
    model: str | None = None
    text: str = ""
    """Any text the chat model wrote instead of calling the tool."""
    completed: bool = False


@dataclass(frozen=True, slots=True)
class Preview:
    """A streamed partial image; `index` is 0-based."""

    index: int
    data: bytes


@dataclass(frozen=True, slots=True)
class Stage:
    """A progress step the stream announced."""

    fraction: float
    message: str


def apply_event(state: StreamState, name: str | None, payload: Any) -> Preview | Stage | None:
    """Fold one SSE event into `state`; return a preview or a progress step to publish.

    Raises the taxonomy error of an `error` event, `response.failed`, a failed tool call
    (`moderation_blocked` → safety_blocked), or `response.incomplete`.
    """
    if not isinstance(payload, dict):
        return None
    kind = str(payload.get("type") or name or "")
    if kind == "error":
        raise error_for_payload(payload)
    raw_response = payload.get("response")
    response: dict[str, Any] = raw_response if isinstance(raw_response, dict) else {}
    if kind == "response.created":
        state.response_id = _str(response.get("id"))
        return Stage(0.02, "response created")
    if kind == "response.image_generation_call.in_progress":
        return Stage(0.05, "image call started")
    if kind == "response.image_generation_call.generating":
        return Stage(0.1, "generating")
    if kind == "response.image_generation_call.partial_image":
        return _preview(payload)
    if kind == "response.output_item.done":
        _item_done(state, payload.get("item"))
        return None
    if kind == "response.failed":
        raise error_for_payload({"error": response.get("error") or {"message": "response failed"}})
    if kind == "response.incomplete":
        raise _incomplete(response)
    if kind == "response.completed":
        state.completed = True
        usage = response.get("usage")
        state.usage = usage if isinstance(usage, dict) else None
        state.model = _str(response.get("model"))
        state.response_id = state.response_id or _str(response.get("id"))
    return None


def apply_event_text(state: StreamState, name: str | None, data: str) -> Preview | Stage | None:
    """`apply_event` of an event's raw `data` (ignored when it is not JSON)."""
    try:
        payload = json.loads(data)
    except json.JSONDecodeError:
        return None
    return apply_event(state, name, payload)


def _preview(payload: dict[str, Any]) -> Preview | None:
    try:
        data = decode_image(payload.get("partial_image_b64"), "partial image")
    except ImagenError:
        return None  # a bad preview never fails the job
    index = payload.get("partial_image_index")
    return Preview(index if isinstance(index, int) else 0, data)


def _item_done(state: StreamState, item: Any) -> None:
    if not isinstance(item, dict):
        return
    if item.get("type") == "message":
        for part in item.get("content") or []:
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                state.text += part["text"]
        return
    if item.get("type") != "image_generation_call":
        return
    if item.get("status") == "failed" or item.get("error"):
        raise error_for_payload({"error": item.get("error") or {"message": "image call failed"}})
    state.image = decode_image(item.get("result"), "image_generation_call result")
    state.revised_prompt = _str(item.get("revised_prompt"))
    state.item = {k: v for k, v in item.items() if k not in ("result", "revised_prompt")}


def _incomplete(response: dict[str, Any]) -> ImagenError:
    details = response.get("incomplete_details")
    reason = _str(details.get("reason")) if isinstance(details, dict) else None
    if reason == "content_filter":
        return ImagenError(ErrorCode.SAFETY_BLOCKED, "response incomplete: content_filter")
    return ImagenError(ErrorCode.NO_IMAGE, f"response incomplete: {one_line(reason or 'unknown')}")


def final_image(state: StreamState) -> bytes:
    """The image of a finished stream; NO_IMAGE quoting what the model said otherwise."""
    if state.image is not None:
        return state.image
    said = f": the model wrote {one_line(state.text, 160)!r}" if state.text.strip() else ""
    ended = "finished" if state.completed else "ended early"
    raise ImagenError(ErrorCode.NO_IMAGE, f"the response {ended} without an image{said}")


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


# --- the backend ----------------------------------------------------------------------------


class OpenAIResponsesBackend(Backend):
    """Responses API image_generation tool, with an API key or a ChatGPT (Codex) login."""

    type_name = "openai-responses"
    description = (
        "OpenAI Responses API image tool over SSE: an API key, or your ChatGPT plan through "
        "the Codex CLI login; revised prompts, partial previews."
    )
    Options = OpenAIResponsesOptions
    capabilities = frozenset(
        {Capability.TXT2IMG, Capability.REFERENCES, Capability.PROGRESS, Capability.PREVIEW}
    )
    sizes = PRESET_SIZES
    """The tool's default model makes these; gpt-image-2/2.5 make any WxH within their rules."""
    needs_http = True

    def _opts(self, options: BackendOptions | None = None) -> OpenAIResponsesOptions:
        return cast(OpenAIResponsesOptions, options if options is not None else self.options)

    def secrets(self) -> list[str]:
        """The API key, or the Codex login's access token (read-only, as sent)."""
        found = super().secrets()
        opts = self._opts()
        if opts.auth == "codex":
            with contextlib.suppress(Exception):  # no login: nothing of it can have been sent
                found.append(read_codex_login(auth_file(self._env, opts.codex_home)).access_token)
        return found

    def readiness(self) -> str | None:
        opts = self._opts()
        if opts.auth == "codex":
            return login_problem(auth_file(self._env, opts.codex_home))
        return super().readiness()

    def require_ready(self) -> None:
        """A missing ChatGPT login is a missing credential (AUTH_MISSING), like a missing key."""
        opts = self._opts()
        if opts.auth == "codex":
            problem = login_problem(auth_file(self._env, opts.codex_home))
            if problem:
                raise ImagenError(ErrorCode.AUTH_MISSING, f"backend {self.name!r}: {problem}")
            return
        super().require_ready()

    def normalize(self, request: GenerationRequest, options: BackendOptions) -> GenerationRequest:
        return normalize_request(self.name, self._opts(options), request)[0]

    def warnings(self, request: GenerationRequest, options: BackendOptions) -> list[str]:
        opts = self._opts(options)
        notes = model_warnings(opts.checked_model())
        if opts.auth == "codex":
            notes.append("ChatGPT login: an undocumented backend that may change without notice")
        return notes

    def estimate_cost(self, request: GenerationRequest, options: BackendOptions) -> float | None:
        """USD for the image (chat-model tokens excluded); 0 on a ChatGPT plan (no API bill)."""
        opts = self._opts(options)
        if opts.auth == "codex":
            return 0.0
        return estimate_image_cost(
            opts.checked_model(), opts.quality, request.width, request.height, request.prompt
        )

    async def generate(self, request: GenerationRequest, ctx: JobContext) -> ImageResult:
        """One image through one streamed response. Raises ImagenError for expected failures."""
        opts = self._opts(ctx.options)
        request, family = normalize_request(self.name, opts, request)
        references = [await asyncio.to_thread(read_reference, p) for p in request.references]
        path = mask_path(opts)
        mask = (
            await asyncio.to_thread(read_reference, path, "mask") if path and references else None
        )
        body = responses_body(request, opts, family, references, mask)
        ctx.progress(0.0, "request sent")
        if opts.auth == "codex":
            state = await self._with_login(ctx, opts, body)
        else:
            self.require_ready()
            state = await _stream(ctx, opts, body, request_headers(opts, self.api_key(), None))
        return self._result(request, opts, state)

    async def _with_login(
        self, ctx: JobContext, opts: OpenAIResponsesOptions, body: dict[str, Any]
    ) -> StreamState:
        """Stream with the Codex login; on a 401 re-read auth.json once (Codex may have
        refreshed it), and if the token is unchanged say the login expired."""
        path = auth_file(self._env, opts.codex_home)
        login = await asyncio.to_thread(read_codex_login, path)
        try:
            return await _stream(ctx, opts, body, _login_headers(opts, login))
        except ImagenError as exc:
            if exc.status != 401:
                raise
        fresh = await asyncio.to_thread(read_codex_login, path)
        if fresh.access_token == login.access_token:
            raise ImagenError(
                ErrorCode.AUTH_FAILED, "ChatGPT login expired: run `codex login`", status=401
            )
        try:
            return await _stream(ctx, opts, body, _login_headers(opts, fresh))
        except ImagenError as exc:
            if exc.status == 401:
                raise ImagenError(
                    ErrorCode.AUTH_FAILED, "ChatGPT login refused: run `codex login`", status=401
                ) from None
            raise

    def _result(
        self, request: GenerationRequest, opts: OpenAIResponsesOptions, state: StreamState
    ) -> ImageResult:
        data = final_image(state)
        metadata: dict[str, Any] = {
            "endpoint": "responses",
            "auth": opts.auth,
            "chat_model": state.model or opts.model,
            "image_call": state.item,
        }
        if state.response_id:
            metadata["response_id"] = state.response_id
        if state.usage is not None:
            metadata["usage"] = state.usage
        return ImageResult(
            data=data,
            revised_prompt=state.revised_prompt,
            cost_usd=self.estimate_cost(request, opts),
            model=opts.checked_model(),
            metadata=metadata,
        )


def _login_headers(opts: OpenAIResponsesOptions, login: CodexLogin) -> dict[str, str]:
    return request_headers(opts, login.access_token, login.account_id)


async def _stream(
    ctx: JobContext, opts: OpenAIResponsesOptions, body: dict[str, Any], headers: dict[str, str]
) -> StreamState:
    state = StreamState()
    partials = max(1, opts.partial_images)
    timeout = httpx.Timeout(max(opts.timeout_s, 1.0), connect=10.0)
    url = opts.url()
    async for event in iter_sse(ctx.http, "POST", url, json=body, headers=headers, timeout=timeout):
        step = await off_loop(len(event.data), apply_event_text, state, event.event, event.data)
        if isinstance(step, Preview):
            ctx.preview(step.data)
            done = min(step.index + 1, partials)
            ctx.progress(0.1 + 0.85 * done / (partials + 1), f"partial image {done}/{partials}")
        elif isinstance(step, Stage):
            ctx.progress(step.fraction, step.message)
        if state.completed:
            break
    return state
