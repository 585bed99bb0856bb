"""A fake fal.ai queue on a loopback `FakeServer`, behaving like queue.fal.run.

It checks what it receives as fal does (`Authorization: Key ...`, a JSON model input with a
string `prompt` and a known `image_size` preset or `{"width", "height"}`) and answers with the
queue's shapes (`shared/reference/providers.md` §7): the submit returns `request_id` and the
status/response/cancel URLs without the endpoint's subpath; status polls go `IN_QUEUE` →
`IN_PROGRESS` (tqdm logs) → `COMPLETED` over `steps` polls (202 until done, then 200); while
`held` the request stays `IN_PROGRESS`. The result is a flux answer whose image is served from
`/files/...` on the same server.
"""

from __future__ import annotations

import base64
import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from .images import image_bytes
from .server import FakeServer, Reply

MODEL = "fal-ai/flux/schnell"
APP = "fal-ai/flux"
PRESETS = {
    "square_hd",
    "square",
    "portrait_4_3",
    "portrait_16_9",
    "landscape_4_3",
    "landscape_16_9",
}


@dataclass
class FakeFal:
    """Scripted behaviour; attributes may be changed by a test at any time."""

    server: FakeServer
    key: str = "fal_id_1234:fal_secret_abcdef"
    steps: int = 3
    held: bool = False
    nsfw: bool = False
    status_errors: list[dict[str, str]] = field(default_factory=list)
    """`error`/`error_type` the COMPLETED status of the next requests carries (one each)."""
    result_error: Reply | None = None
    """Served instead of the answer (e.g. 422 content_policy_violation)."""
    file_body: bytes = field(default_factory=lambda: image_bytes(64, 48, "JPEG"))
    submit_errors: list[Reply] = field(default_factory=list)
    requests_made: dict[str, dict[str, Any]] = field(default_factory=dict)
    cancelled: list[str] = field(default_factory=list)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    def __post_init__(self) -> None:
        self.server.route("POST", f"/{MODEL}", self._submit)
        self.server.route("GET", "/files/out.jpg", self._file)

    @property
    def base_url(self) -> str:
        return self.server.url

    def submits(self) -> list[Any]:
        return self.server.requests_to("POST", f"/{MODEL}")

    # --- handlers -----------------------------------------------------------------------------

    def _refusal(self, request: web.Request) -> Reply | None:
        if request.headers.get("Authorization") != f"Key {self.key}":
            return Reply(status=401, json={"detail": "No user found for Key ID and Secret"})
        return None

    async def _submit(self, request: web.Request) -> web.StreamResponse:
        refusal = self._refusal(request) or self._invalid(await request.read())
        if refusal is not None:
            return await refusal.send(request)
        if self.submit_errors:
            return await self.submit_errors.pop(0).send(request)
        rid = f"req-{next(self._ids):04d}-aaaa"
        error = self.status_errors.pop(0) if self.status_errors else {}
        self.requests_made[rid] = {"input": json.loads(await request.read()), "polls": 0,
                                   "error": error}  # fmt: skip
        root = f"/{APP}/requests/{rid}"
        self.server.route("GET", f"{root}/status", self._status)
        self.server.route("GET", root, self._result)
        self.server.route("PUT", f"{root}/cancel", self._cancel)
        base = self.server.url + root
        return web.json_response(
            {
                "request_id": rid,
                "status_url": f"{base}/status",
                "response_url": base,
                "cancel_url": f"{base}/cancel",
            }
        )

    @staticmethod
    def _invalid(raw: bytes) -> Reply | None:
        try:
            body = json.loads(raw)
        except ValueError:
            return Reply(status=400, json={"detail": "Body is not valid JSON"})
        if not isinstance(body, dict) or not isinstance(body.get("prompt"), str):
            item = {"loc": ["body", "prompt"], "msg": "field required", "type": "missing"}
            return Reply(status=422, json={"detail": [item]})
        size = body.get("image_size", "landscape_4_3")
        custom = isinstance(size, dict) and {"width", "height"} <= set(size)
        if not custom and size not in PRESETS:
            item = {"loc": ["body", "image_size"], "msg": "invalid size", "type": "value_error"}
            return Reply(status=422, json={"detail": [item]})
        return None

    async def _status(self, request: web.Request) -> web.StreamResponse:
        refusal = self._refusal(request)
        if refusal is not None:
            return await refusal.send(request)
        rid = request.path.split("/")[-2]
        state = self.requests_made[rid]
        state["polls"] += 1
        if state.get("cancelled"):
            return web.json_response({"status": "COMPLETED", "error": "Request cancelled",
                                      "error_type": "request_cancelled"})  # fmt: skip
        if state["polls"] == 1 and not self.held:
            return web.json_response({"status": "IN_QUEUE", "queue_position": 2}, status=202)
        if self.held or state["polls"] < self.steps:
            done = min(state["polls"], 4)
            logs = [{"message": f"{done * 25}%|{'#' * done}| {done}/4", "level": "INFO"}]
            return web.json_response({"status": "IN_PROGRESS", "logs": logs}, status=202)
        answer: dict[str, Any] = {"status": "COMPLETED", "logs": [],
                                  "metrics": {"inference_time": 0.42}}  # fmt: skip
        answer.update(state["error"])
        return web.json_response(answer)

    async def _result(self, request: web.Request) -> web.StreamResponse:
        refusal = self._refusal(request)
        if refusal is not None:
            return await refusal.send(request)
        if self.result_error is not None:
            return await self.result_error.send(request)
        rid = request.path.rsplit("/", 1)[1]
        inp = self.requests_made[rid]["input"]
        url = f"{self.server.url}/files/out.jpg"
        if inp.get("sync_mode"):  # the image comes inline, as fal does with sync_mode
            url = "data:image/jpeg;base64," + base64.b64encode(self.file_body).decode()
        image = {"url": url, "width": 64, "height": 48, "content_type": "image/jpeg"}
        return web.json_response(
            {
                "images": [image],
                "seed": inp.get("seed", 99),
                "has_nsfw_concepts": [self.nsfw],
                "timings": {"inference": 0.4},
                "prompt": inp["prompt"],
            }
        )

    async def _cancel(self, request: web.Request) -> web.StreamResponse:
        refusal = self._refusal(request)
        if refusal is not None:
            return await refusal.send(request)
        rid = request.path.split("/")[-2]
        self.cancelled.append(rid)
        self.requests_made[rid]["cancelled"] = True
        return web.json_response({"status": "CANCELLATION_REQUESTED"}, status=202)

    async def _file(self, request: web.Request) -> web.StreamResponse:
        return web.Response(body=self.file_body, content_type="image/jpeg")
