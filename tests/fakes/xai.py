"""A fake xAI images API (`/v1/images/generations`, `/v1/images/edits`) on loopback.

It checks what it receives as xAI does (providers.md §6, docs.x.ai image generation, read
2026-11-29): `Authorization: Bearer <key>`, a JSON body (never multipart) with `model` and
`prompt`, only the fields xAI knows ("Argument not supported: size" otherwise), lower-case
`resolution`, a known `aspect_ratio`, and for edits `image` or `images` (not both) holding
`{"type": "image_url", "url"}` with a decodable data URI. A refused request answers xAI's
error shape `{"code", "error"}` and lands in `rejections`. Accepted requests are answered by
the scripted behaviours in order (the last one repeats): `image`, `moderated`, `empty`,
`item`, `error`, `hang`. Images are JPEG, as xAI sends them; `url` results are served from
`/files/<name>.jpg` on the same server.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import io
import json
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from PIL import Image

from tests.fakes.server import FakeServer, Reply

Behaviour = Callable[["Call"], Awaitable[web.StreamResponse]]
RATIOS = ("1:1", "3:4", "4:3", "9:16", "16:9", "2:3", "3:2", "9:19.5", "19.5:9", "9:20", "20:9",
          "1:2", "2:1", "auto")  # fmt: skip
FIELDS = frozenset({"model", "prompt", "n", "response_format", "aspect_ratio", "resolution",
                    "quality", "user"})  # fmt: skip
EDIT_FIELDS = frozenset({"image", "images", "mask"})
HANG_S = 30.0


@dataclass
class Call:
    request: web.Request
    body: dict[str, Any]


def jpeg(width: int, height: int, colour: tuple[int, int, int] = (200, 90, 40)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buf, "JPEG", quality=80)
    return buf.getvalue()


def xai_error(code: str, message: str) -> dict[str, str]:
    """xAI's REST error body."""
    return {"code": code, "error": message}


@dataclass
class FakeXai:
    """Routes on a FakeServer; see the module docstring."""

    server: FakeServer
    key: str = "xai-test-key"
    script: list[Behaviour] = field(default_factory=list)
    rejections: list[str] = field(default_factory=list)
    disconnected: threading.Event = field(default_factory=threading.Event)
    hanging: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.server.route("POST", "/v1/images/generations", self._handle(edit=False))
        self.server.route("POST", "/v1/images/edits", self._handle(edit=True))

    def then(self, *behaviours: Behaviour) -> FakeXai:
        self.script.extend(behaviours)
        return self

    # -- request checks ----------------------------------------------------------------------

    def _handle(self, *, edit: bool) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def handler(request: web.Request) -> web.StreamResponse:
            auth = request.headers.get("Authorization", "")
            if auth != f"Bearer {self.key}":
                shown = auth.removeprefix("Bearer ")
                masked = f"{shown[:2]}***{shown[-2:]}" if len(shown) > 4 else "***"
                message = f"Incorrect API key provided: {masked}. Obtain one at console.x.ai."
                return self._reject(400, message, "Client specified an invalid argument")
            if not request.content_type.startswith("application/json"):
                return self._reject(415, f"expected application/json, got {request.content_type}")
            try:
                body = json.loads(await request.read())
            except json.JSONDecodeError:
                return self._reject(400, "Failed to deserialize the JSON body")
            problem = check_body(body, edit=edit)
            if problem:
                return self._reject(400, problem)
            behaviour = self.script.pop(0) if len(self.script) > 1 else self.script[0]
            return await behaviour(Call(request, body))

        return handler

    def _reject(
        self, status: int, message: str, code: str = "Client specified an invalid argument"
    ) -> web.Response:
        self.rejections.append(message)
        return web.json_response(xai_error(code, message), status=status)

    # -- behaviours ----------------------------------------------------------------------------

    def image(self, *, width: int = 96, height: int = 64, revised: str = "A fox.") -> Behaviour:
        """Success in the requested response_format (`url` results served by this server)."""

        async def run(call: Call) -> web.StreamResponse:
            data = jpeg(width, height)
            item: dict[str, Any] = {"mime_type": "image/jpeg", "revised_prompt": revised}
            if call.body.get("response_format", "url") == "url":
                self.server.reply("GET", "/files/out-1.jpg", _file(data))
                item["url"] = f"{self.server.url}/files/out-1.jpg"
            else:
                item["b64_json"] = base64.b64encode(data).decode()
            return web.json_response({"created": 1764460800, "data": [item]})

        return run

    def moderated(self) -> Behaviour:
        """HTTP 200 whose item failed moderation (no image)."""
        return self.item({"url": "", "respect_moderation": False, "mime_type": "image/jpeg"})

    def empty(self) -> Behaviour:
        """HTTP 200 with no item at all."""

        async def run(call: Call) -> web.StreamResponse:
            return web.json_response({"created": 1764460800, "data": []})

        return run

    def item(self, item: dict[str, Any]) -> Behaviour:
        """HTTP 200 with exactly this item."""

        async def run(call: Call) -> web.StreamResponse:
            return web.json_response({"created": 1764460800, "data": [item]})

        return run

    def error(self, status: int, message: str, *, headers: dict[str, str] | None = None,
              code: str = "Internal error") -> Behaviour:  # fmt: skip
        async def run(call: Call) -> web.StreamResponse:
            return web.json_response(xai_error(code, message), status=status, headers=headers)

        return run

    def hang(self) -> Behaviour:
        """Never answer; `hanging` is set once the request is in, `disconnected` when the
        client goes away."""

        async def run(call: Call) -> web.StreamResponse:
            self.hanging.set()
            response = web.StreamResponse(headers={"Content-Type": "application/json"})
            await response.prepare(call.request)
            try:
                for _ in range(int(HANG_S / 0.05)):
                    await asyncio.sleep(0.05)
                    await response.write(b" ")
            except (ConnectionError, RuntimeError):
                self.disconnected.set()
            except asyncio.CancelledError:
                self.disconnected.set()
                raise
            return response

        return run


def _file(data: bytes) -> Reply:
    return Reply(body=data, content_type="image/jpeg")


def check_body(body: Any, *, edit: bool) -> str | None:
    """What xAI would refuse in an images body, or None."""
    if not isinstance(body, dict):
        return "Failed to deserialize the JSON body"
    allowed = FIELDS | EDIT_FIELDS if edit else FIELDS
    for name in body:
        if name not in allowed:
            return f"Argument not supported: {name}"
    if not isinstance(body.get("model"), str) or not body.get("prompt"):
        return "model and prompt are required"
    if not 1 <= body.get("n", 1) <= 10:
        return "n must be between 1 and 10"
    if body.get("response_format", "url") not in ("url", "b64_json"):
        return "response_format must be url or b64_json"
    if body.get("aspect_ratio", "auto") not in RATIOS:
        return f"Invalid aspect_ratio: {body['aspect_ratio']}"
    if body.get("resolution", "1k") not in ("1k", "2k"):
        return f"Invalid resolution: {body['resolution']}"
    if body.get("quality", "medium") not in ("low", "medium"):
        return f"Invalid quality: {body['quality']}"
    return _check_images(body) if edit else None


def _check_images(body: dict[str, Any]) -> str | None:
    if ("image" in body) == ("images" in body):
        return "exactly one of image or images is required"
    images = [body["image"]] if "image" in body else body["images"]
    if not isinstance(images, list) or not 1 <= len(images) <= 5:
        return "images must hold 1 to 5 items"
    for image in images:
        if not isinstance(image, dict) or image.get("type") != "image_url":
            return 'image must be {"type": "image_url", "url": ...}'
        url = str(image.get("url", ""))
        head, _, data = url.partition(",")
        if not head.startswith("data:image/") or not head.endswith(";base64"):
            return "image url must be a data URI here"
        try:
            base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            return "image data URI is not base64"
    return None
