"""A fake Replicate API on a loopback `FakeServer`, behaving like api.replicate.com/v1.

It checks what it receives as Replicate does (bearer token, JSON body with an `input` object
holding a string `prompt`, known `aspect_ratio`, `Prefer: wait[=N]`) and answers with prediction
objects and RFC 7807 errors (`shared/reference/providers.md` §3). Predictions go `starting` →
`processing` (tqdm bars in `logs`) → `final` over `steps` polls; while `held` they stay
`processing`. Outputs are served from `/files/...` on the same server, or inline as `data:` URIs.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from .images import image_bytes
from .server import FakeServer, Reply

MODEL = "black-forest-labs/flux-schnell"
ASPECT_RATIOS = {"1:1", "16:9", "21:9", "3:2", "2:3", "4:5", "5:4", "3:4", "4:3", "9:16", "9:21"}
_PREFER = re.compile(r"^wait(=([1-9]|[1-5][0-9]|60))?$")


def problem(status: int, title: str, detail: str) -> Reply:
    """An RFC 7807 error as Replicate sends it."""
    return Reply(status=status, json={"type": "about:blank", "title": title, "detail": detail,
                                      "status": status})  # fmt: skip


@dataclass
class FakeReplicate:
    """Scripted behaviour; attributes may be changed by a test at any time."""

    server: FakeServer
    key: str = "r8_fake_token_0123456789"
    steps: int = 2
    """Polls after creation before the prediction reaches `final`."""
    final: str = "succeeded"
    error: str | None = None
    done_on_create: bool = False
    """`Prefer: wait` catches the end: the create answer is already final."""
    held: bool = False
    output: str = "url"
    """"url" (a list of one file URL), "string" (one URL), "data" (a data: URI)."""
    file_body: bytes = field(default_factory=lambda: image_bytes(64, 48, "WEBP"))
    file_type: str = "image/webp"
    logs_seed: int | None = 4242
    create_errors: list[Reply] = field(default_factory=list)
    poll_errors: list[Reply] = field(default_factory=list)
    predictions: dict[str, dict[str, Any]] = field(default_factory=dict)
    cancelled: list[str] = field(default_factory=list)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    def __post_init__(self) -> None:
        self.server.route("POST", f"/v1/models/{MODEL}/predictions", self._create)
        self.server.route("GET", "/files/out.webp", self._file)

    @property
    def base_url(self) -> str:
        return self.server.url + "/v1"

    def creates(self) -> list[Any]:
        return self.server.requests_to("POST", f"/v1/models/{MODEL}/predictions")

    # --- handlers -----------------------------------------------------------------------------

    def _unauthorized(self, request: web.Request) -> Reply | None:
        if request.headers.get("Authorization") != f"Bearer {self.key}":
            return problem(401, "Unauthenticated", "You did not pass a valid authentication token")
        return None

    async def _create(self, request: web.Request) -> web.StreamResponse:
        refusal = self._unauthorized(request) or self._invalid(request, await request.read())
        if refusal is not None:
            return await refusal.send(request)
        if self.create_errors:
            return await self.create_errors.pop(0).send(request)
        body = json.loads(await request.read())
        pid = f"pred{next(self._ids):04d}xyz"
        self.predictions[pid] = {"input": body["input"], "polls": 0, "status": "starting"}
        self.server.route("GET", f"/v1/predictions/{pid}", self._get)
        self.server.route("POST", f"/v1/predictions/{pid}/cancel", self._cancel)
        if self.done_on_create:
            self.predictions[pid]["status"] = self.final
        return web.json_response(self._object(pid), status=201)

    def _invalid(self, request: web.Request, raw: bytes) -> Reply | None:
        if not _PREFER.match(request.headers.get("Prefer", "wait")):
            return problem(400, "Invalid Prefer header", "Prefer must be wait or wait=1..60")
        try:
            body = json.loads(raw)
        except ValueError:
            return problem(400, "Bad request", "body is not JSON")
        inp = body.get("input") if isinstance(body, dict) else None
        if not isinstance(inp, dict) or not isinstance(inp.get("prompt"), str):
            return problem(422, "Input validation failed", "input.prompt: Field required")
        if inp.get("aspect_ratio", "1:1") not in ASPECT_RATIOS:
            return problem(422, "Input validation failed", "input.aspect_ratio: not allowed")
        return None

    async def _get(self, request: web.Request) -> web.StreamResponse:
        refusal = self._unauthorized(request)
        if refusal is not None:
            return await refusal.send(request)
        if self.poll_errors:
            return await self.poll_errors.pop(0).send(request)
        pid = request.path.rsplit("/", 1)[1]
        state = self.predictions[pid]
        if state["status"] not in ("succeeded", "failed", "canceled", "aborted"):
            state["polls"] += 1
            if self.held or state["polls"] < self.steps:
                state["status"] = "processing"
            else:
                state["status"] = self.final
        return web.json_response(self._object(pid))

    async def _cancel(self, request: web.Request) -> web.StreamResponse:
        refusal = self._unauthorized(request)
        if refusal is not None:
            return await refusal.send(request)
        pid = request.path.split("/")[-2]
        self.cancelled.append(pid)
        self.predictions[pid]["status"] = "canceled"
        return web.json_response(self._object(pid))

    async def _file(self, request: web.Request) -> web.StreamResponse:
        return web.Response(body=self.file_body, content_type=self.file_type)

    # --- the prediction object ----------------------------------------------------------------

    def _object(self, pid: str) -> dict[str, Any]:
        state = self.predictions[pid]
        status = state["status"]
        seed = state["input"].get("seed", self.logs_seed)
        logs = f"Using seed: {seed}\n" if seed is not None else ""
        if status in ("processing", "succeeded"):
            done = min(state["polls"], 4)
            logs += f" {done * 25}%|{'#' * done}{' ' * (4 - done)}| {done}/4 [00:01<00:01]\n"
        obj: dict[str, Any] = {
            "id": pid,
            "model": MODEL,
            "version": "bf53bdb9",
            "status": status,
            "input": state["input"],
            "output": None,
            "logs": logs,
            "error": self.error if status == "failed" else None,
            "metrics": {"predict_time": 0.61} if status == "succeeded" else {},
            "urls": {
                "get": f"{self.base_url}/predictions/{pid}",
                "cancel": f"{self.base_url}/predictions/{pid}/cancel",
            },
        }
        if status == "succeeded":
            obj["output"] = self._output()
        return obj

    def _output(self) -> Any:
        url = f"{self.server.url}/files/out.webp"
        if self.output == "data":
            encoded = base64.b64encode(self.file_body).decode()
            return [f"data:application/octet-stream;base64,{encoded}"]
        return url if self.output == "string" else [url]
