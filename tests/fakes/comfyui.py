"""A fake ComfyUI that behaves like the real one on the wire (0.3.64, recorded 2026-11-22).

It runs on a `FakeServer` (real sockets on 127.0.0.1) and speaks the routes the adapter uses:
`POST /prompt`, `GET /history/{id}`, `GET /queue`, `POST /queue`, `POST /interrupt`,
`POST /upload/image`, `GET /view` and the websocket `/ws?clientId=`. Shapes and message order
follow `tests/fakes/recorded/comfyui/` (a copy of `shared/fixtures/comfyui/`):

- `POST /prompt` validates like ComfyUI: non-JSON → 500 text; no `prompt` → 400 `no_prompt`;
  an unknown class → 400 `invalid_prompt`; no output node → 400 `prompt_no_outputs`; wrong input
  types, unknown checkpoints, missing uploads, dangling links → 400
  `prompt_outputs_failed_validation` with `node_errors`. A client-chosen `prompt_id` is kept.
- One worker runs prompts FIFO and sends, to the prompt's `client_id` socket: `status`,
  `execution_start`, `execution_cached`, per node `progress_state` → `executing` → (`progress`
  steps and binary previews for samplers) → `executed` (output nodes) → `progress_state`, then
  `execution_success`, `status`, and `executing` with `node: null` — history is written only just
  before that last frame, as on the real server.
- `POST /interrupt {"prompt_id"}` stops only that prompt if it runs (`execution_interrupted`);
  an empty body interrupts whatever runs and is counted in `global_interrupts`.

`Behaviour` scripts how runs go: `outcome` success | error | safety | hold (wait for
`release()` or an interrupt) | hang (never finish); `steps`, `previews`, `image` (what `/view`
serves), `websocket` (False: the upgrade is refused), `run` (False: prompts stay pending).
`prompt_failures` are answered to the next `POST /prompt`s before the real handling.
"""

from __future__ import annotations

import asyncio
import io
import json
import struct
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web
from PIL import Image, PngImagePlugin

from tests.fakes.server import FakeServer, Reply, parse_form

CHECKPOINTS = ("sd_xl_base_1.0.safetensors", "flux1-dev.safetensors")
OUTPUT_NODES = frozenset({"SaveImage", "PreviewImage"})
SAMPLERS = frozenset({"KSampler", "KSamplerAdvanced", "SamplerCustom"})
INT_INPUTS = frozenset({"width", "height", "batch_size", "seed", "steps", "color", "blur_radius"})
FLOAT_INPUTS = frozenset({"cfg", "denoise", "sigma"})
STR_INPUTS = frozenset({"text", "sampler_name", "scheduler", "filename_prefix"})
KNOWN_NODES = (
    OUTPUT_NODES
    | SAMPLERS
    | {
        "CheckpointLoaderSimple",
        "CLIPTextEncode",
        "EmptyLatentImage",
        "VAEDecode",
        "VAEEncode",
        "LoadImage",
        "EmptyImage",
        "ImageInvert",
        "ImageBlur",
    }
)
Outcome = Literal["success", "error", "safety", "hold", "hang"]


def png_bytes(size: tuple[int, int] = (64, 48), colour: str = "teal", text: str = "{}") -> bytes:
    """A real PNG with a `prompt` text chunk, like SaveImage writes."""
    info = PngImagePlugin.PngInfo()
    info.add_text("prompt", text)
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "PNG", pnginfo=info)
    return out.getvalue()


def preview_frame(image: bytes, fmt: int = 2) -> bytes:
    """A binary preview frame: event 1 (PREVIEW_IMAGE), format 1 JPEG / 2 PNG, then the image."""
    return struct.pack(">II", 1, fmt) + image


@dataclass
class Behaviour:
    outcome: Outcome = "success"
    steps: int = 4
    previews: int = 0
    image: bytes | None = None
    websocket: bool = True
    run: bool = True
    frame_pause: float = 0.0


@dataclass
class _Prompt:
    number: int
    prompt_id: str
    graph: dict[str, Any]
    client_id: str
    interrupted: asyncio.Event = field(default_factory=asyncio.Event)

    def item(self) -> list[Any]:
        outputs = [n for n, node in self.graph.items() if node["class_type"] in OUTPUT_NODES]
        return [self.number, self.prompt_id, self.graph, {"client_id": self.client_id}, outputs]


class FakeComfyUI:
    """ComfyUI's HTTP + websocket API on a `FakeServer` (see the module doc)."""

    def __init__(self, server: FakeServer, behaviour: Behaviour | None = None) -> None:
        self.server = server
        self.behaviour = behaviour or Behaviour()
        self.prompt_failures: list[Reply] = []
        self.history: dict[str, dict[str, Any]] = {}
        self.pending: list[_Prompt] = []
        self.running: _Prompt | None = None
        self.files: dict[tuple[str, str, str], bytes] = {}
        self.sockets: dict[str, web.WebSocketResponse] = {}
        self.frames: dict[str, list[Any]] = {}
        """Every frame sent, by client id (text frames decoded, binary as bytes)."""
        self.global_interrupts = 0
        self.interrupted_ids: list[str] = []
        self.deleted_ids: list[str] = []
        self._number = 0
        self._counter = 0
        self._wake: asyncio.Event | None = None
        self._release: asyncio.Event | None = None
        self._worker: asyncio.Task[None] | None = None
        self._install()

    # --- test controls ----------------------------------------------------------------------

    def release(self) -> None:
        """Let a held run finish."""
        self.server.call(self._set(self._events()[1]))

    def start_running(self) -> None:
        """Start the worker for a fake created with `run=False`."""
        self.behaviour.run = True
        self.server.call(self._set(self._events()[0]))

    def frame_types(self, client_id: str) -> list[str]:
        return [f["type"] if isinstance(f, dict) else "binary" for f in self.frames[client_id]]

    # --- routes -----------------------------------------------------------------------------

    def _install(self) -> None:
        s = self.server
        s.route("POST", "/prompt", self._post_prompt)
        s.route("GET", "/history/{prompt_id}", self._get_history)
        s.route("GET", "/queue", self._get_queue)
        s.route("POST", "/queue", self._post_queue)
        s.route("POST", "/interrupt", self._post_interrupt)
        s.route("POST", "/upload/image", self._upload)
        s.route("GET", "/view", self._view)
        s.route("GET", "/ws", self._ws)
        s.on_stop(self._stop)

    async def _post_prompt(self, request: web.Request) -> web.StreamResponse:
        self._check_origin(request)
        if self.prompt_failures:
            return await self.prompt_failures.pop(0).send(request)
        try:
            body = json.loads(await request.read())
        except json.JSONDecodeError:
            return web.Response(
                status=500, text="500 Internal Server Error\n\nServer got itself in trouble"
            )
        if not isinstance(body, dict) or "prompt" not in body:
            return _invalid("no_prompt", "No prompt provided", "No prompt provided")
        graph = body["prompt"]
        problem = _validate(graph, self.files)
        if problem is not None:
            return problem
        self._number += 1
        prompt = _Prompt(
            self._number,
            str(body.get("prompt_id") or _uuid()),
            graph,
            str(body.get("client_id", "")),
        )
        self.pending.append(prompt)
        await self._broadcast_status()
        self._ensure_worker()
        return web.json_response(
            {"prompt_id": prompt.prompt_id, "number": prompt.number, "node_errors": {}}
        )

    async def _get_history(self, request: web.Request) -> web.StreamResponse:
        prompt_id = request.path.rsplit("/", 1)[1]
        entry = self.history.get(prompt_id)
        return web.json_response({prompt_id: entry} if entry else {})

    async def _get_queue(self, request: web.Request) -> web.StreamResponse:
        running = [self.running.item()] if self.running else []
        return web.json_response(
            {"queue_running": running, "queue_pending": [p.item() for p in self.pending]}
        )

    async def _post_queue(self, request: web.Request) -> web.StreamResponse:
        body = json.loads(await request.read() or b"{}")
        if body.get("clear"):
            self.pending.clear()
        for prompt_id in body.get("delete") or []:
            self.deleted_ids.append(prompt_id)
            self.pending = [p for p in self.pending if p.prompt_id != prompt_id]
        return web.Response(status=200)

    async def _post_interrupt(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        body = json.loads(raw) if raw else {}
        target = body.get("prompt_id") if isinstance(body, dict) else None
        if target is None:
            self.global_interrupts += 1
            if self.running:
                self.running.interrupted.set()
        elif self.running and self.running.prompt_id == target:
            self.interrupted_ids.append(target)
            self.running.interrupted.set()
        return web.Response(status=200)

    async def _upload(self, request: web.Request) -> web.StreamResponse:
        form = parse_form(request.headers.get("Content-Type", ""), await request.read())
        filename, data = form.get("image", (None, b""))
        if not filename:
            return web.Response(status=400)
        name = filename
        kind = form.get("type", (None, b"input"))[1].decode() or "input"
        sub = form.get("subfolder", (None, b""))[1].decode()
        overwrite = form.get("overwrite", (None, b""))[1].decode().lower() in ("true", "1")
        if not overwrite and self.files.get((kind, sub, name), data) != data:
            stem, dot, ext = name.rpartition(".")
            name = f"{stem} (1).{ext}" if dot else f"{name} (1)"
        self.files[(kind, sub, name)] = data
        return web.json_response({"name": name, "subfolder": sub, "type": kind})

    async def _view(self, request: web.Request) -> web.StreamResponse:
        q = request.query
        data = self.files.get(
            (q.get("type", "output"), q.get("subfolder", ""), q.get("filename", ""))
        )
        if data is None:
            return web.Response(status=404)
        return web.Response(body=data, content_type="image/png")

    async def _ws(self, request: web.Request) -> web.StreamResponse:
        if not self.behaviour.websocket:
            return web.Response(status=404, text="no websocket here")
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        client_id = request.query.get("clientId") or _uuid().replace("-", "")
        self.sockets[client_id] = ws
        await self._send(
            client_id,
            {
                "type": "status",
                "data": {
                    "status": {"exec_info": {"queue_remaining": self._remaining()}},
                    "sid": client_id,
                },
            },
        )
        async for _ in ws:  # ComfyUI ignores what clients send, apart from feature flags
            pass
        self.sockets.pop(client_id, None)
        return ws

    # --- the worker -------------------------------------------------------------------------

    def _events(self) -> tuple[asyncio.Event, asyncio.Event]:
        if self._wake is None or self._release is None:
            self._wake, self._release = asyncio.Event(), asyncio.Event()
        return self._wake, self._release

    async def _set(self, event: asyncio.Event) -> None:
        event.set()

    def _ensure_worker(self) -> None:
        wake, _ = self._events()
        if self._worker is None:
            self._worker = asyncio.get_running_loop().create_task(self._work())
        wake.set()

    async def _work(self) -> None:
        wake, _ = self._events()
        while True:
            await wake.wait()
            wake.clear()
            while self.behaviour.run and self.pending:
                self.running = self.pending.pop(0)
                try:
                    await self._execute(self.running)
                finally:
                    self.running = None

    async def _execute(self, prompt: _Prompt) -> None:
        pid, cid, graph = prompt.prompt_id, prompt.client_id, prompt.graph
        messages: list[list[Any]] = []
        await self._broadcast_status()
        await self._event(cid, "execution_start", {"prompt_id": pid, "timestamp": _ms()}, messages)
        await self._event(
            cid, "execution_cached", {"nodes": [], "prompt_id": pid, "timestamp": _ms()}, messages
        )
        states: dict[str, dict[str, Any]] = {}
        outputs: dict[str, Any] = {}
        executed: list[str] = []
        for node_id, node in graph.items():
            states[node_id] = _state(pid, node_id, "running", 0.0)
            await self._send(
                cid, {"type": "progress_state", "data": {"prompt_id": pid, "nodes": dict(states)}}
            )
            await self._send(
                cid,
                {
                    "type": "executing",
                    "data": {"node": node_id, "display_node": node_id, "prompt_id": pid},
                },
            )
            if node["class_type"] in SAMPLERS:
                stopped = await self._sample(prompt, node_id)
                if stopped:
                    return await self._interrupted(prompt, node_id, node, executed, messages)
            if prompt.interrupted.is_set():
                return await self._interrupted(prompt, node_id, node, executed, messages)
            if (
                self.behaviour.outcome in ("error", "safety")
                and node["class_type"] in SAMPLERS | OUTPUT_NODES
            ):
                return await self._failed(prompt, node_id, node, executed, messages)
            if node["class_type"] in OUTPUT_NODES:
                outputs[node_id] = {"images": [self._save(node)]}
                await self._send(
                    cid,
                    {
                        "type": "executed",
                        "data": {
                            "node": node_id,
                            "display_node": node_id,
                            "output": outputs[node_id],
                            "prompt_id": pid,
                        },
                    },
                )
            executed.append(node_id)
            states[node_id] = _state(pid, node_id, "finished", 1.0)
            await self._send(
                cid, {"type": "progress_state", "data": {"prompt_id": pid, "nodes": dict(states)}}
            )
        await self._event(
            cid, "execution_success", {"prompt_id": pid, "timestamp": _ms()}, messages
        )
        await self._broadcast_status()
        self._write_history(prompt, outputs, "success", messages)
        await self._send(cid, {"type": "executing", "data": {"node": None, "prompt_id": pid}})

    async def _sample(self, prompt: _Prompt, node_id: str) -> bool:
        """Send step progress (and previews); True when interrupted."""
        _, release = self._events()
        steps = self.behaviour.steps
        for step in range(1, steps + 1):
            if prompt.interrupted.is_set():
                return True
            await self._send(
                prompt.client_id,
                {
                    "type": "progress",
                    "data": {
                        "value": step,
                        "max": steps,
                        "prompt_id": prompt.prompt_id,
                        "node": node_id,
                    },
                },
            )
            if step <= self.behaviour.previews:
                await self._send(prompt.client_id, preview_frame(png_bytes((16, 16), "orange")))
            if self.behaviour.frame_pause:
                await asyncio.sleep(self.behaviour.frame_pause)
            if step == max(1, steps // 2) and self.behaviour.outcome in ("hold", "hang"):
                await self._hold(prompt, release)
        return prompt.interrupted.is_set()

    async def _hold(self, prompt: _Prompt, release: asyncio.Event) -> None:
        waits = [asyncio.ensure_future(prompt.interrupted.wait())]
        if self.behaviour.outcome == "hold":
            waits.append(asyncio.ensure_future(release.wait()))
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waits:
                w.cancel()

    async def _interrupted(
        self,
        prompt: _Prompt,
        node_id: str,
        node: dict[str, Any],
        executed: list[str],
        messages: list[list[Any]],
    ) -> None:
        data = {
            "prompt_id": prompt.prompt_id,
            "node_id": node_id,
            "node_type": node["class_type"],
            "executed": executed,
            "timestamp": _ms(),
        }
        await self._event(prompt.client_id, "execution_interrupted", data, messages)
        await self._finish_failed(prompt, messages)

    async def _failed(
        self,
        prompt: _Prompt,
        node_id: str,
        node: dict[str, Any],
        executed: list[str],
        messages: list[list[Any]],
    ) -> None:
        if self.behaviour.outcome == "safety":
            kind, text = (
                "Exception",
                "Content blocked by moderation: the NSFW filter flagged this image",
            )
        else:
            kind, text = (
                "RuntimeError",
                "mat1 and mat2 shapes cannot be multiplied (1x768 and 2048x320)",
            )
        data = {
            "prompt_id": prompt.prompt_id,
            "node_id": node_id,
            "node_type": node["class_type"],
            "executed": executed,
            "exception_message": text,
            "exception_type": kind,
            "traceback": ["Traceback (most recent call last):\n"],
            "current_inputs": {},
            "current_outputs": {},
            "timestamp": _ms(),
        }
        await self._event(prompt.client_id, "execution_error", data, messages)
        await self._finish_failed(prompt, messages)

    async def _finish_failed(self, prompt: _Prompt, messages: list[list[Any]]) -> None:
        await self._broadcast_status()
        self._write_history(prompt, {}, "error", messages)
        await self._send(
            prompt.client_id,
            {"type": "executing", "data": {"node": None, "prompt_id": prompt.prompt_id}},
        )

    def _save(self, node: dict[str, Any]) -> dict[str, str]:
        self._counter += 1
        prefix = str(node["inputs"].get("filename_prefix", "ComfyUI"))
        kind = "output" if node["class_type"] == "SaveImage" else "temp"
        name = f"{prefix}_{self._counter:05}_.png"
        self.files[(kind, "", name)] = (
            self.behaviour.image if self.behaviour.image is not None else png_bytes()
        )
        return {"filename": name, "subfolder": "", "type": kind}

    def _write_history(
        self, prompt: _Prompt, outputs: dict[str, Any], status: str, messages: list[list[Any]]
    ) -> None:
        self.history[prompt.prompt_id] = {
            "prompt": prompt.item(),
            "outputs": outputs,
            "status": {
                "status_str": status,
                "completed": status == "success",
                "messages": messages,
            },
            "meta": {
                n: {"node_id": n, "display_node": n, "parent_node": None, "real_node_id": n}
                for n in outputs
            },
        }

    # --- sending ----------------------------------------------------------------------------

    async def _event(
        self, client_id: str, kind: str, data: dict[str, Any], messages: list[list[Any]]
    ) -> None:
        messages.append([kind, data])
        await self._send(client_id, {"type": kind, "data": data})

    async def _send(self, client_id: str, frame: dict[str, Any] | bytes) -> None:
        self.frames.setdefault(client_id, []).append(frame)
        ws = self.sockets.get(client_id)
        if ws is None or ws.closed:
            return
        try:
            if isinstance(frame, bytes):
                await ws.send_bytes(frame)
            else:
                await ws.send_str(json.dumps(frame))
        except ConnectionError:
            pass

    async def _broadcast_status(self) -> None:
        frame = {
            "type": "status",
            "data": {"status": {"exec_info": {"queue_remaining": self._remaining()}}},
        }
        for client_id in list(self.sockets):
            await self._send(client_id, frame)

    def _remaining(self) -> int:
        return len(self.pending) + (1 if self.running else 0)

    def _check_origin(self, request: web.Request) -> None:
        origin = request.headers.get("Origin")
        if origin and origin.split("://", 1)[-1] != request.host:
            raise web.HTTPForbidden()

    async def _stop(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
        for ws in list(self.sockets.values()):
            await ws.close()


# --- validation, like execution.py validate_prompt -------------------------------------------


def _validate(graph: Any, files: dict[tuple[str, str, str], bytes]) -> web.Response | None:
    if not isinstance(graph, dict):
        return _invalid("invalid_prompt", "Prompt is not a dict", "")
    for node_id, node in graph.items():
        kind = node.get("class_type") if isinstance(node, dict) else None
        if kind not in KNOWN_NODES:
            return _invalid(
                "invalid_prompt",
                f"Cannot execute because node {kind} does not exist.",
                f"Node ID '#{node_id}'",
            )
    if not any(node["class_type"] in OUTPUT_NODES for node in graph.values()):
        return _invalid("prompt_no_outputs", "Prompt has no outputs", "")
    node_errors = {}
    for node_id, node in graph.items():
        errors = [
            e
            for name, value in node.get("inputs", {}).items()
            if (e := _input_error(name, value, node, graph, files))
        ]
        if errors:
            node_errors[node_id] = {
                "errors": errors,
                "dependent_outputs": [
                    n for n, v in graph.items() if v["class_type"] in OUTPUT_NODES
                ],
                "class_type": node["class_type"],
            }
    if node_errors:
        body = {
            "error": {
                "type": "prompt_outputs_failed_validation",
                "message": "Prompt outputs failed validation",
                "details": "",
                "extra_info": {},
            },
            "node_errors": node_errors,
        }
        return web.json_response(body, status=400)
    return None


def _input_error(
    name: str,
    value: Any,
    node: dict[str, Any],
    graph: dict[str, Any],
    files: dict[tuple[str, str, str], bytes],
) -> dict[str, Any] | None:
    def error(kind: str, message: str, details: str) -> dict[str, Any]:
        return {
            "type": kind,
            "message": message,
            "details": details,
            "extra_info": {"input_name": name},
        }

    if isinstance(value, list):
        ok = len(value) == 2 and value[0] in graph and isinstance(value[1], int)
        return None if ok else error("bad_linked_input", "Bad linked input", f"{name}: {value!r}")
    if name in INT_INPUTS and (isinstance(value, bool) or not isinstance(value, int)):
        return error(
            "invalid_input_type",
            "Failed to convert an input value to a INT value",
            f"{name}, {value!r}",
        )
    if name in FLOAT_INPUTS and (isinstance(value, bool) or not isinstance(value, int | float)):
        return error(
            "invalid_input_type",
            "Failed to convert an input value to a FLOAT value",
            f"{name}, {value!r}",
        )
    if name in STR_INPUTS and not isinstance(value, str):
        return error(
            "invalid_input_type",
            "Failed to convert an input value to a STRING value",
            f"{name}, {value!r}",
        )
    if name == "ckpt_name" and value not in CHECKPOINTS:
        return error(
            "value_not_in_list",
            "Value not in list",
            f"ckpt_name: '{value}' not in {list(CHECKPOINTS)}",
        )
    if node["class_type"] == "LoadImage" and name == "image":
        sub, _, filename = str(value).rpartition("/")
        if ("input", sub, filename) not in files:
            return error(
                "custom_validation_failed",
                "Custom validation failed for node",
                f"image - Invalid image file: {value}",
            )
    return None


def _invalid(kind: str, message: str, details: str) -> web.Response:
    body = {
        "error": {"type": kind, "message": message, "details": details, "extra_info": {}},
        "node_errors": {},
    }
    return web.json_response(body, status=400)


def _state(prompt_id: str, node_id: str, state: str, value: float) -> dict[str, Any]:
    return {
        "value": value,
        "max": 1.0,
        "state": state,
        "node_id": node_id,
        "prompt_id": prompt_id,
        "display_node_id": node_id,
        "parent_node_id": None,
        "real_node_id": node_id,
    }


def _ms() -> int:
    return int(time.time() * 1000)


def _uuid() -> str:
    import uuid

    return str(uuid.uuid4())
