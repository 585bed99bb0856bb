"""A fake Responses API (`image_generation` tool over SSE) on a loopback `FakeServer`, for both
the API-key route `/v1/responses` and the ChatGPT route `/backend-api/codex/responses`
(`shared/reference/providers.md` §1b/§1c, checked 2026-11-29).

It checks auth (Bearer key; or Bearer access token + ChatGPT-Account-ID + session_id), the body
(chat `model`, user `input` with `input_text`, one `image_generation` tool of known fields,
`stream: true`; `instructions` and `store: false` on the ChatGPT route) and answers with the
real event sequence. Modes, taken per call from `script` (the last repeats):

    "ok", "rate_limited", "server_error", "bad_request", "unauthorized" (401),
    "safety" (a failed image call with moderation_blocked), "failed" (response.failed),
    "error_event", "hang" (30 s silence), "truncated" (half a PNG), "text_only" (no tool call),
    "hold" (one partial, then the stream stays open until the client leaves)
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable
from typing import Any

from aiohttp import web

from tests.fakes.openai import (
    FINAL_PNG,
    PARTIAL_PNGS,
    b64,
    hold_until_gone,
    openai_error,
    sse_response_open,
)
from tests.fakes.server import FakeServer, Recorded, sse_response

TOOL_FIELDS = frozenset(
    {
        "type",
        "model",
        "action",
        "size",
        "quality",
        "complexity",
        "background",
        "output_format",
        "output_compression",
        "moderation",
        "partial_images",
        "input_fidelity",
        "input_image_mask",
    }
)
REVISED = "A red fox standing in fresh snow, watercolor"
USAGE = {"input_tokens": 120, "output_tokens": 40, "total_tokens": 160}
API_PATH = "/v1/responses"
CODEX_PATH = "/backend-api/codex/responses"


class FakeResponses:
    """The Responses API on `server`; see the module docstring."""

    def __init__(
        self,
        server: FakeServer,
        *,
        key: str = "",
        token: str = "",
        account: str = "",
        script: tuple[str, ...] = ("ok",),
    ) -> None:
        self.server = server
        self.key, self.token, self.account = key, token, account
        self.script = list(script)
        self.problems: list[str] = []
        self.disconnected = threading.Event()
        self.on_unauthorized: Callable[[], None] | None = None
        server.route("POST", API_PATH, self._api)
        server.route("POST", CODEX_PATH, self._codex)

    @property
    def api_base(self) -> str:
        return self.server.url + "/v1"

    @property
    def codex_base(self) -> str:
        return self.server.url + "/backend-api/codex"

    def calls(self, path: str = API_PATH) -> list[Recorded]:
        return self.server.requests_to("POST", path)

    def _refuse(self, status: int, message: str, code: str | None = None) -> web.Response:
        self.problems.append(message)
        return openai_error(status, message, code, "invalid_request_error")

    async def _api(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Authorization") != f"Bearer {self.key}":
            return self._refuse(401, "Incorrect API key provided.", "invalid_api_key")
        body = await request.json()
        problem = check_body(body, codex=False)
        return self._refuse(400, problem) if problem else await self._answer(request, body)

    async def _codex(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        if not body.get("instructions"):
            self.problems.append("no instructions")
            return web.json_response({"detail": "Instructions are required"}, status=400)
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            if self.on_unauthorized is not None:
                self.on_unauthorized()
            return self._refuse(401, "Your authentication token has expired.", "token_expired")
        if request.headers.get("ChatGPT-Account-ID") != self.account:
            return self._refuse(403, "account mismatch")
        if not request.headers.get("session_id"):
            return self._refuse(400, "missing session_id")
        problem = check_body(body, codex=True)
        return self._refuse(400, problem) if problem else await self._answer(request, body)

    def _mode(self) -> str:
        return self.script.pop(0) if len(self.script) > 1 else self.script[0]

    async def _answer(self, request: web.Request, body: dict[str, Any]) -> web.StreamResponse:
        mode = self._mode()
        if mode == "rate_limited":
            return openai_error(
                429,
                "Rate limit reached.",
                "rate_limit_exceeded",
                "requests",
                **{"Retry-After": "1"},
            )
        if mode == "server_error":
            return openai_error(500, "The server had an error.", None, "server_error")
        if mode == "bad_request":
            return self._refuse(400, "Invalid value for 'size'.", "invalid_value")
        if mode == "unauthorized":
            return self._refuse(401, "Incorrect API key provided.", "invalid_api_key")
        if mode == "hang":
            await asyncio.sleep(30)
        tool = body["tools"][0]
        events = opening_events(body, int(tool.get("partial_images", 0)))
        if mode == "hold":
            response = await sse_response_open(request, events[:4])
            await hold_until_gone(request, self.disconnected)
            return response
        events += closing_events(mode, tool)
        return await sse_response(request, events)


def opening_events(body: dict[str, Any], partials: int) -> list[tuple[str | None, str]]:
    created = {"id": "resp_fake", "status": "in_progress", "model": body["model"]}
    events: list[tuple[str | None, dict[str, Any]]] = [
        ("response.created", {"response": created}),
        ("response.image_generation_call.in_progress", {"item_id": "ig_1", "output_index": 0}),
        ("response.image_generation_call.generating", {"item_id": "ig_1", "output_index": 0}),
    ]
    for i in range(partials):
        events.append(
            (
                "response.image_generation_call.partial_image",
                {
                    "item_id": "ig_1",
                    "partial_image_b64": b64(PARTIAL_PNGS[i]),
                    "partial_image_index": i,
                },
            )
        )
    return [_event(name, data) for name, data in events]


def closing_events(mode: str, tool: dict[str, Any]) -> list[tuple[str | None, str]]:
    if mode == "error_event":
        error = {"code": "server_error", "message": "stream broke", "param": None}
        return [_event("error", error)]
    if mode == "failed":
        error = {"code": "server_error", "message": "The model failed to generate."}
        return [_event("response.failed", {"response": {"id": "resp_fake", "error": error}})]
    item: dict[str, Any] = {"type": "image_generation_call", "id": "ig_1", "status": "completed"}
    if mode == "safety":
        item.update(
            status="failed",
            error={
                "code": "moderation_blocked",
                "message": "Request blocked by moderation.",
                "type": "image_generation_user_error",
                "param": None,
            },
        )
    elif mode == "text_only":
        item = {
            "type": "message",
            "id": "msg_1",
            "status": "completed",
            "role": "assistant",
            "content": [{"type": "output_text", "text": "I cannot draw that \x1b[2J sorry"}],
        }
    else:
        data = FINAL_PNG[: len(FINAL_PNG) // 2] if mode == "truncated" else FINAL_PNG
        item.update(
            result=b64(data),
            revised_prompt=REVISED,
            size=tool.get("size"),
            quality=tool.get("quality", "auto"),
            output_format="png",
        )
    done = {"id": "resp_fake", "status": "completed", "model": "gpt-5-fake", "usage": USAGE}
    return [
        _event("response.image_generation_call.completed", {"item_id": "ig_1"}),
        _event("response.output_item.done", {"output_index": 0, "item": item}),
        _event("response.completed", {"response": done}),
    ]


def _event(name: str, data: dict[str, Any]) -> tuple[str | None, str]:
    return name, json.dumps({"type": name, **data})


def check_body(body: dict[str, Any], *, codex: bool) -> str | None:
    """What the real API would refuse in this body, or None."""
    if not isinstance(body.get("model"), str) or body.get("stream") is not True:
        return "model and stream: true are required"
    message = (body.get("input") or [{}])[0]
    content = message.get("content") or []
    if message.get("role") != "user" or not content or content[0].get("type") != "input_text":
        return "input must be a user message starting with input_text"
    for part in content[1:]:
        if part.get("type") != "input_image" or not str(part.get("image_url")).startswith("data:"):
            return "references must be input_image parts with data: URLs"
    tools = body.get("tools") or []
    if len(tools) != 1 or tools[0].get("type") != "image_generation":
        return "exactly one image_generation tool expected"
    unknown = sorted(set(tools[0]) - TOOL_FIELDS)
    if unknown:
        return f"Unknown parameter: 'tools[0].{unknown[0]}'."
    if codex and (body.get("store") is not False or body.get("tool_choice") != "auto"):
        return "the ChatGPT route takes store: false and tool_choice: auto"
    return None
