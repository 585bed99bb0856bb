"""A fake Gemini Developer API (`generateContent`, `streamGenerateContent?alt=sse`) on loopback.

It checks what it receives as the real API does (providers.md §2; ai.google.dev/api/
generate-content, read 2026-11-29): the path `/v1/models/{model}:method`, the `x-goog-api-key`
header, camelCase body fields it knows (an unknown field is a 400 "Unknown name"), an
`imageConfig` of a known ratio and an upper-case tier, inline references that decode to the
MIME type they claim. A refused request answers Google's error shape and lands in
`rejections`. Accepted requests are answered by the scripted behaviours in order (the last one
repeats): `image`, `blocked_prompt`, `finish`, `inline`, `error`, `hang`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import io
import json
import math
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from PIL import Image

from tests.fakes.server import FakeServer, sse_response

Behaviour = Callable[["Call"], Awaitable[web.StreamResponse]]
RATIOS = ("1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9", "1:4", "4:1",
          "1:8", "8:1")  # fmt: skip
TIER_PIXELS = {"512": 512, "1K": 1024, "2K": 2048, "4K": 4096}
CONFIG_KEYS = frozenset(
    {"responseModalities", "candidateCount", "seed", "imageConfig", "thinkingConfig",
     "temperature", "topP", "topK", "maxOutputTokens"}
)  # fmt: skip
HANG_S = 30.0


@dataclass
class Call:
    """One accepted request: the aiohttp request, its JSON body and whether it streams."""

    request: web.Request
    body: dict[str, Any]
    stream: bool

    @property
    def ratio(self) -> str:
        return self.body["generationConfig"].get("imageConfig", {}).get("aspectRatio", "1:1")

    @property
    def tier(self) -> str:
        return self.body["generationConfig"].get("imageConfig", {}).get("imageSize", "1K")


def google_error(status: int, code: str, message: str, details: list[Any] | None = None) -> Any:
    """Google's JSON error body (google.rpc.Status)."""
    return {"error": {"code": status, "message": message, "status": code, "details": details or []}}


def png(width: int, height: int, colour: tuple[int, int, int] = (40, 120, 200)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buf, "PNG", compress_level=1)
    return buf.getvalue()


def size_for(ratio: str, tier: str) -> tuple[int, int]:
    """Gemini-like output size: the tier's area at the ratio, sides multiples of 16."""
    w, h = (float(x) for x in ratio.split(":"))
    side = TIER_PIXELS[tier]
    width = math.sqrt(side * side * w / h)
    return max(16, round(width / 16) * 16), max(16, round(width * h / w / 16) * 16)


@dataclass
class FakeGemini:
    """Routes for one model on a FakeServer; see the module docstring."""

    server: FakeServer
    key: str = "gemini-test-key"
    model: str = "gemini-3.1-flash-image"
    pause: float = 0.0
    script: list[Behaviour] = field(default_factory=list)
    rejections: list[str] = field(default_factory=list)
    accepted: list[dict[str, Any]] = field(default_factory=list)
    disconnected: threading.Event = field(default_factory=threading.Event)
    hung = False

    def __post_init__(self) -> None:
        base = f"/v1/models/{self.model}"
        self.server.route("POST", f"{base}:generateContent", self._handle(stream=False))
        self.server.route("POST", f"{base}:streamGenerateContent", self._handle(stream=True))

    def then(self, *behaviours: Behaviour) -> FakeGemini:
        self.script.extend(behaviours)
        return self

    # -- request checks ----------------------------------------------------------------------

    def _handle(self, *, stream: bool) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def handler(request: web.Request) -> web.StreamResponse:
            if stream and request.query.get("alt") != "sse":
                return self._reject(400, "streamGenerateContent without alt=sse is not SSE")
            key = request.headers.get("x-goog-api-key")
            if key is None:
                return self._reject(
                    403, "Method doesn't allow unregistered callers", "PERMISSION_DENIED"
                )
            if key != self.key:
                info = {
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": "API_KEY_INVALID",
                }
                return self._reject(
                    400, "API key not valid. Please pass a valid API key.", details=[info]
                )
            try:
                body = json.loads(await request.read())
            except json.JSONDecodeError:
                return self._reject(400, "Invalid JSON payload received.")
            problem = check_body(body)
            if problem:
                return self._reject(400, problem)
            self.accepted.append(body)
            behaviour = self.script.pop(0) if len(self.script) > 1 else self.script[0]
            return await behaviour(Call(request, body, stream))

        return handler

    def _reject(
        self,
        status: int,
        message: str,
        code: str = "INVALID_ARGUMENT",
        details: list[Any] | None = None,
    ) -> web.Response:
        self.rejections.append(message)
        return web.json_response(google_error(status, code, message, details), status=status)

    # -- behaviours ----------------------------------------------------------------------------

    def image(self, *, drafts: int = 0, text: str | None = None) -> Behaviour:
        """Success: optional thinking and draft images (thought parts), then the image."""

        async def run(call: Call) -> web.StreamResponse:
            width, height = size_for(call.ratio, call.tier)
            chunks: list[dict[str, Any]] = []
            if drafts:
                chunks.append(_chunk([{"text": "**Planning the scene**", "thought": True}]))
            for i in range(drafts):
                draft = png(width // 8, height // 8, (i * 60 % 255, 90, 90))
                chunks.append(_chunk([_inline(draft, thought=True)]))
            parts = ([{"text": text}] if text else []) + [_inline(png(width, height))]
            chunks.append(self._final(_chunk(parts, finish="STOP")))
            return await self._answer(call, chunks)

        return run

    def blocked_prompt(self, reason: str = "SAFETY") -> Behaviour:
        """HTTP 200 without candidates: `promptFeedback.blockReason`."""

        async def run(call: Call) -> web.StreamResponse:
            feedback = {"promptFeedback": {"blockReason": reason}}
            return await self._answer(call, [self._final(feedback)])

        return run

    def finish(self, reason: str, text: str | None = None) -> Behaviour:
        """HTTP 200 with a candidate that ends with `reason` and carries no image."""

        async def run(call: Call) -> web.StreamResponse:
            parts = [{"text": text}] if text else []
            return await self._answer(call, [self._final(_chunk(parts, finish=reason))])

        return run

    def inline(self, data: bytes, mime: str = "image/png") -> Behaviour:
        """HTTP 200 whose image part holds exactly `data` (truncated, not an image, …)."""

        async def run(call: Call) -> web.StreamResponse:
            part = {"inlineData": {"mimeType": mime, "data": base64.b64encode(data).decode()}}
            return await self._answer(call, [self._final(_chunk([part], finish="STOP"))])

        return run

    def error(self, status: int, code: str, message: str, *, headers: dict[str, str] | None = None,
              details: list[Any] | None = None) -> Behaviour:  # fmt: skip
        """An HTTP error in Google's shape."""

        async def run(call: Call) -> web.StreamResponse:
            body = google_error(status, code, message, details)
            return web.json_response(body, status=status, headers=headers or {})

        return run

    def hang(self) -> Behaviour:
        """Start answering (a thinking chunk when streaming), then stall until the client goes
        away; `disconnected` is set when it does."""

        async def run(call: Call) -> web.StreamResponse:
            self.hung = True
            if not call.stream:
                await asyncio.sleep(HANG_S)
                return web.json_response({})
            response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
            await response.prepare(call.request)
            first = _chunk([{"text": "thinking", "thought": True}])
            try:
                await response.write(f"data: {json.dumps(first)}\r\n\r\n".encode())
                for _ in range(int(HANG_S / 0.05)):
                    await asyncio.sleep(0.05)
                    await response.write(b": keep-alive\r\n\r\n")
            except (ConnectionError, RuntimeError):
                self.disconnected.set()
            except asyncio.CancelledError:
                self.disconnected.set()
                raise
            return response

        return run

    # -- answering -----------------------------------------------------------------------------

    def _final(self, payload: dict[str, Any]) -> dict[str, Any]:
        usage = {
            "promptTokenCount": 12,
            "candidatesTokenCount": 1120,
            "totalTokenCount": 1132,
            "candidatesTokensDetails": [{"modality": "IMAGE", "tokenCount": 1120}],
        }
        return {**payload, "usageMetadata": usage, "modelVersion": self.model, "responseId": "r-1"}

    async def _answer(self, call: Call, chunks: list[dict[str, Any]]) -> web.StreamResponse:
        if call.stream:
            events = [(None, json.dumps(c)) for c in chunks]
            return await sse_response(call.request, events, pause=self.pause)
        return web.json_response(_merge(chunks))


def _chunk(parts: list[dict[str, Any]], finish: str | None = None) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}, "index": 0}
    if finish:
        candidate["finishReason"] = finish
    return {"candidates": [candidate]}


def _inline(data: bytes, *, thought: bool = False) -> dict[str, Any]:
    part: dict[str, Any] = {
        "inlineData": {"mimeType": "image/png", "data": base64.b64encode(data).decode()}
    }
    if thought:
        part["thought"] = True
    return part


def _merge(chunks: list[dict[str, Any]]) -> dict[str, Any]:
    """What generateContent answers at once: the chunks' parts in one candidate."""
    merged: dict[str, Any] = {}
    parts: list[Any] = []
    for chunk in chunks:
        for candidate in chunk.get("candidates", []):
            parts += candidate["content"]["parts"]
            if "finishReason" in candidate:
                merged["candidates"] = [{**candidate, "content": {"role": "model", "parts": parts}}]
        merged.update({k: v for k, v in chunk.items() if k != "candidates"})
    return merged


def check_body(body: Any) -> str | None:
    """What the real API would refuse in a generateContent body, or None."""
    if not isinstance(body, dict) or not isinstance(body.get("contents"), list):
        return "contents is required"
    unknown = set(body) - {"contents", "generationConfig", "safetySettings", "systemInstruction",
                           "tools", "toolConfig"}  # fmt: skip
    if unknown:
        return f'Invalid JSON payload received. Unknown name "{sorted(unknown)[0]}"'
    parts = body["contents"][0].get("parts") if body["contents"] else None
    if not parts or not isinstance(parts[0].get("text"), str) or not parts[0]["text"]:
        return "contents[0].parts[0] must be the prompt text"
    for part in parts[1:]:
        problem = _check_inline(part)
        if problem:
            return problem
    return _check_config(body.get("generationConfig") or {})


def _check_inline(part: dict[str, Any]) -> str | None:
    inline = part.get("inlineData")
    if not isinstance(inline, dict):
        return "reference parts must be inlineData"
    try:
        data = base64.b64decode(inline.get("data", ""), validate=True)
    except (binascii.Error, ValueError):
        return "inlineData.data is not base64"
    magic = {"image/png": b"\x89PNG", "image/jpeg": b"\xff\xd8\xff", "image/webp": b"RIFF"}
    if not data.startswith(magic.get(inline.get("mimeType", ""), b"\0\0\0\0\0")):
        return f"inlineData is not {inline.get('mimeType')}"
    return None


def _check_config(config: dict[str, Any]) -> str | None:
    unknown = set(config) - CONFIG_KEYS
    if unknown:
        name = sorted(unknown)[0]
        return f'Invalid JSON payload received. Unknown name "{name}" at generation_config'
    if "IMAGE" not in config.get("responseModalities", []):
        return "responseModalities must include IMAGE for an image model"
    image = config.get("imageConfig", {})
    if image.get("aspectRatio", "1:1") not in RATIOS:
        return f"Unsupported aspect ratio {image.get('aspectRatio')}"
    if image.get("imageSize", "1K") not in TIER_PIXELS:
        return f"Unsupported image size {image.get('imageSize')} (use 512, 1K, 2K or 4K)"
    seed = config.get("seed", 0)
    if not isinstance(seed, int) or not -(2**31) <= seed < 2**31:
        return "seed must be an int32"
    return None
