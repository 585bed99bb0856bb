"""A stand-in for a resumable local host (the shape of ComfyUI's API, much reduced), for the
pool's resume tests until the real `comfyui` adapter lands beside it.

Protocol (ours, test-only): `GET /queue` -> `{"running": n, "pending": n}`; `POST /jobs`
`{"prompt", "seed"}` -> `{"id"}`; `GET /jobs/{id}` -> `{"status": "running" | "done",
"image": B64 | null}`; `POST /jobs/{id}/cancel` -> `{}`. `JobHostBackend` speaks it, declares
RESUME and CANCEL and implements `queue_depth`, exactly what a pool member needs.
"""

from __future__ import annotations

import asyncio
import base64
from dataclasses import dataclass, field
from typing import Any, cast

from aiohttp import web

from imagen_tui.backends.base import ApiOptions, Backend, Capability, JobContext
from imagen_tui.backends.http import map_transport_errors, raise_for_status, response_json
from imagen_tui.backends.models import GenerationRequest, ImageResult
from tests.fakes.a1111 import png
from tests.fakes.server import FakeServer


@dataclass
class FakeJobHost:
    """Jobs finish after `polls_to_finish` status reads; `jobs` maps id -> request body."""

    polls_to_finish: int = 2
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    polls: dict[str, int] = field(default_factory=dict)
    cancelled: list[str] = field(default_factory=list)

    def install(self, server: FakeServer) -> FakeJobHost:
        server.route("GET", "/queue", self._queue)
        server.route("POST", "/jobs", self._submit)
        for job_id in ("job-1", "job-2", "job-7"):
            server.route("GET", f"/jobs/{job_id}", self._status)
            server.route("POST", f"/jobs/{job_id}/cancel", self._cancel)
        return self

    def add(self, job_id: str, body: dict[str, Any]) -> None:
        """A job submitted before the test (by a process that was then killed)."""
        self.jobs[job_id] = body

    async def _queue(self, request: web.Request) -> web.StreamResponse:
        running = sum(1 for j in self.jobs if self.polls.get(j, 0) < self.polls_to_finish)
        return web.json_response({"running": min(running, 1), "pending": max(0, running - 1)})

    async def _submit(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        if not isinstance(body.get("prompt"), str):
            return web.json_response({"error": "prompt must be text"}, status=400)
        job_id = f"job-{len(self.jobs) + 1}"
        self.jobs[job_id] = body
        return web.json_response({"id": job_id})

    async def _status(self, request: web.Request) -> web.StreamResponse:
        job_id = request.path.rsplit("/", 1)[-1]
        if job_id not in self.jobs:
            return web.json_response({"error": "no such job"}, status=404)
        self.polls[job_id] = self.polls.get(job_id, 0) + 1
        if self.polls[job_id] < self.polls_to_finish:
            return web.json_response({"status": "running", "image": None})
        image = base64.b64encode(png(64, 64, int(self.jobs[job_id].get("seed", 0)))).decode()
        return web.json_response({"status": "done", "image": image})

    async def _cancel(self, request: web.Request) -> web.StreamResponse:
        self.cancelled.append(request.path.split("/")[2])
        return web.json_response({})


class JobHostBackend(Backend):
    """Speaks the FakeJobHost protocol (see the module docstring)."""

    type_name = "jobhost"
    description = "test double of a resumable local host"
    Options = ApiOptions
    capabilities = frozenset(
        {Capability.TXT2IMG, Capability.SEED, Capability.CANCEL, Capability.RESUME}
    )
    needs_http = True

    async def queue_depth(self, http: Any) -> int:
        body = await self._call(http, "GET", "/queue")
        return int(body["running"]) + int(body["pending"])

    async def generate(self, request: GenerationRequest, ctx: JobContext) -> ImageResult:
        body = await self._call(
            ctx.http, "POST", "/jobs", {"prompt": request.prompt, "seed": request.seed}
        )
        await ctx.set_remote_id(str(body["id"]))
        return await self.resume(request, ctx)

    async def resume(self, request: GenerationRequest, ctx: JobContext) -> ImageResult:
        while True:
            status = await self._call(ctx.http, "GET", f"/jobs/{ctx.remote_id}")
            if status["status"] == "done":
                return ImageResult(data=base64.b64decode(status["image"]), seed=request.seed)
            ctx.progress(0.5, "running")
            await asyncio.sleep(0.01)

    async def cancel(self, ctx: JobContext) -> None:
        if ctx.remote_id:
            await self._call(ctx.http, "POST", f"/jobs/{ctx.remote_id}/cancel", {})

    async def _call(self, http: Any, method: str, path: str, body: Any = None) -> Any:
        url = cast(ApiOptions, self.options).base_url.rstrip("/") + path
        with map_transport_errors(url):
            response = await http.request(method, url, json=body)
        raise_for_status(response)
        return response_json(response, url)
