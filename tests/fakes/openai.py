"""A fake OpenAI Images API on a loopback `FakeServer`: it checks what it receives and answers
in OpenAI's shapes (`shared/reference/providers.md` §1, checked 2026-11-29).

`FakeOpenAI(server, key)` serves `POST /v1/images/generations` (JSON) and `/v1/images/edits`
(multipart). Each call takes the next mode from `script` (the last one repeats):

    "ok"           the image (SSE with partials when the request streams)
    "rate_limited" 429 rate_limit_exceeded with Retry-After: 1
    "quota"        429 insufficient_quota (billing: never retried)
    "server_error" 500 server_error
    "safety"       400 moderation_blocked
    "bad_request"  400 invalid_request_error (as for a size the model cannot make)
    "hang"         no answer for 30 s (the client's timeout fires first)
    "truncated"    b64_json of half a PNG
    "not_image"    b64_json of text
    "hold"         (streaming) one partial, then hold the stream open until the client leaves

A request the real API would refuse (wrong auth, unknown field, bad value, missing part) gets
the real API's 4xx error shape and is listed in `problems`.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import threading
from email.message import Message
from email.parser import BytesParser
from typing import Any

from aiohttp import web
from PIL import Image

from tests.fakes.server import FakeServer, Recorded, sse_response

GEN_FIELDS = frozenset(
    {
        "prompt",
        "model",
        "n",
        "size",
        "quality",
        "complexity",
        "background",
        "output_format",
        "output_compression",
        "moderation",
        "response_format",
        "style",
        "stream",
        "partial_images",
        "safety_identifier",
        "user",
    }
)
EDIT_FIELDS = GEN_FIELDS | {"input_fidelity"}
QUALITIES = frozenset({"auto", "low", "medium", "high", "xhigh", "max", "standard", "hd"})
FORMATS = frozenset({"png", "jpeg", "webp"})
USAGE = {
    "input_tokens": 50,
    "input_tokens_details": {"text_tokens": 40, "image_tokens": 10},
    "output_tokens": 1056,
    "total_tokens": 1106,
}
HOLD_S = 20.0


def png(colour: tuple[int, int, int], size: tuple[int, int] = (48, 32)) -> bytes:
    """A small real PNG."""
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, "PNG")
    return buf.getvalue()


FINAL_PNG = png((200, 80, 40))
PARTIAL_PNGS = (png((20, 20, 20)), png((90, 90, 90)), png((160, 160, 160)))


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def openai_error(
    status: int, message: str, code: str | None, kind: str, **headers: str
) -> web.Response:
    body = {"error": {"message": message, "type": kind, "param": None, "code": code}}
    return web.json_response(body, status=status, headers={"x-request-id": "req_fake", **headers})


def multipart_parts(content_type: str, body: bytes) -> list[tuple[str, str | None, str, bytes]]:
    """Every part of a multipart body as (name, filename, content type, bytes), repeats kept."""
    head = f"Content-Type: {content_type}\r\n\r\n".encode()
    message = BytesParser().parsebytes(head + body)
    parts = []
    for part in message.get_payload() if message.is_multipart() else []:
        assert isinstance(part, Message)
        name = str(part.get_param("name", header="content-disposition"))
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        parts.append((name, part.get_filename(), part.get_content_type(), data))
    return parts


async def hold_until_gone(request: web.Request, gone: threading.Event) -> None:
    """Keep a stream open until the client disconnects (then set `gone`), at most HOLD_S."""
    for _ in range(int(HOLD_S / 0.05)):
        transport = request.transport
        if transport is None or transport.is_closing():
            gone.set()
            return
        await asyncio.sleep(0.05)


class FakeOpenAI:
    """The Images API on `server` under `/v1`; see the module docstring."""

    def __init__(self, server: FakeServer, key: str, script: tuple[str, ...] = ("ok",)) -> None:
        self.server = server
        self.key = key
        self.script = list(script)
        self.problems: list[str] = []
        self.disconnected = threading.Event()
        server.route("POST", "/v1/images/generations", self._generations)
        server.route("POST", "/v1/images/edits", self._edits)

    @property
    def base_url(self) -> str:
        return self.server.url + "/v1"

    def calls(self, endpoint: str = "generations") -> list[Recorded]:
        return self.server.requests_to("POST", f"/v1/images/{endpoint}")

    def _mode(self) -> str:
        return self.script.pop(0) if len(self.script) > 1 else self.script[0]

    def _refuse(self, status: int, message: str, code: str | None = None) -> web.Response:
        self.problems.append(message)
        kind = "invalid_request_error"
        return openai_error(status, message, code, kind)

    async def _generations(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Authorization") != f"Bearer {self.key}":
            return self._refuse(401, "Incorrect API key provided.", "invalid_api_key")
        if request.content_type != "application/json":
            return self._refuse(400, f"generations take JSON, got {request.content_type}")
        body = await request.json()
        problem = check_fields(body, GEN_FIELDS)
        if problem:
            return self._refuse(400, problem)
        return await self._answer(request, body, "image_generation")

    async def _edits(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Authorization") != f"Bearer {self.key}":
            return self._refuse(401, "Incorrect API key provided.", "invalid_api_key")
        if request.content_type != "multipart/form-data":
            return self._refuse(400, f"edits take multipart/form-data, got {request.content_type}")
        parts = multipart_parts(request.headers["Content-Type"], await request.read())
        files = [p for p in parts if p[1] is not None]
        fields = {name: data.decode() for name, filename, _, data in parts if filename is None}
        images = [p for p in files if p[0] in ("image", "image[]")]
        if not images or any(p[2] not in ("image/png", "image/jpeg", "image/webp") for p in images):
            return self._refuse(400, "Missing or invalid image file(s): send image or image[]")
        body: dict[str, Any] = {k: _form_value(v) for k, v in fields.items()}
        problem = check_fields(body, EDIT_FIELDS)
        if problem:
            return self._refuse(400, problem)
        return await self._answer(request, body, "image_edit")

    async def _answer(
        self, request: web.Request, body: dict[str, Any], prefix: str
    ) -> web.StreamResponse:
        mode = self._mode()
        if mode == "rate_limited":
            return openai_error(
                429,
                "Rate limit reached for images per minute.",
                "rate_limit_exceeded",
                "requests",
                **{"Retry-After": "1"},
            )
        if mode == "quota":
            return openai_error(
                429,
                "You exceeded your current quota, please check your plan.",
                "insufficient_quota",
                "insufficient_quota",
            )
        if mode == "server_error":
            return openai_error(
                500, "The server had an error processing your request.", None, "server_error"
            )
        if mode == "safety":
            return openai_error(
                400,
                "Your request was rejected by the safety system.",
                "moderation_blocked",
                "image_generation_user_error",
            )
        if mode == "bad_request":
            return self._refuse(400, f"Invalid value: '{body['size']}'. Supported sizes are ...")
        if mode == "hang":
            await asyncio.sleep(30)
        data = {"truncated": FINAL_PNG[: len(FINAL_PNG) // 2], "not_image": b"hello, not a picture"}
        final = data.get(mode, FINAL_PNG)
        echo = {
            "size": body["size"],
            "quality": body.get("quality", "auto"),
            "output_format": body.get("output_format", "png"),
            "background": "opaque",
        }
        if body.get("stream"):
            return await self._stream(request, body, prefix, final, echo, hold=mode == "hold")
        return web.json_response(
            {"created": 1764400000, **echo, "data": [{"b64_json": b64(final)}], "usage": USAGE},
            headers={"x-request-id": "req_fake"},
        )

    async def _stream(
        self,
        request: web.Request,
        body: dict[str, Any],
        prefix: str,
        final: bytes,
        echo: dict[str, Any],
        *,
        hold: bool,
    ) -> web.StreamResponse:
        count = int(body.get("partial_images", 0))
        events = [
            (
                f"{prefix}.partial_image",
                json.dumps(
                    {
                        "type": f"{prefix}.partial_image",
                        "b64_json": b64(PARTIAL_PNGS[i]),
                        "partial_image_index": i,
                        **echo,
                    }
                ),
            )
            for i in range(count)
        ]
        if hold:
            response = await sse_response_open(request, events[:1])
            await hold_until_gone(request, self.disconnected)
            return response
        done = {"type": f"{prefix}.completed", "b64_json": b64(final), "usage": USAGE, **echo}
        events.append((f"{prefix}.completed", json.dumps(done)))
        return await sse_response(request, events)


async def sse_response_open(
    request: web.Request, events: list[tuple[str | None, str]]
) -> web.StreamResponse:
    """Start an event stream, send `events`, and leave it open."""
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    for name, data in events:
        head = f"event: {name}\n" if name else ""
        await response.write(f"{head}data: {data}\n\n".encode())
    return response


def _form_value(text: str) -> Any:
    """Multipart text parts back to JSON values ("1" -> 1, "true" -> True)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def check_fields(body: dict[str, Any], known: frozenset[str]) -> str | None:
    """What the real API would say about these fields, or None."""
    unknown = sorted(set(body) - known)
    if unknown:
        return f"Unknown parameter: '{unknown[0]}'."
    if not isinstance(body.get("prompt"), str) or not body["prompt"]:
        return "Missing required parameter: 'prompt'."
    if not isinstance(body.get("model"), str):
        return "Missing required parameter: 'model'."
    if body.get("n", 1) not in range(1, 11):
        return "Invalid 'n': must be 1..10."
    size = str(body.get("size", "auto"))
    if size != "auto" and not all(p.isdigit() for p in size.split("x")):
        return f"Invalid value: '{size}'. Supported values are WxH or 'auto'."
    if body.get("quality", "auto") not in QUALITIES:
        return f"Invalid value: '{body['quality']}' for quality."
    if body.get("output_format", "png") not in FORMATS:
        return f"Invalid value: '{body['output_format']}' for output_format."
    if body.get("partial_images", 0) not in range(0, 4):
        return "Invalid 'partial_images': must be 0..3."
    return None
