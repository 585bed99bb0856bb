"""A real loopback server for protocol tests: scripted HTTP routes, SSE streams, websockets.

`FakeServer` runs aiohttp's web server on 127.0.0.1 (random free port) in its own thread and
event loop, so a test drives it with plain `asyncio.run(...)` client code. It records every
request it receives (method, path, query, headers, body) and answers from:

- `reply(method, path, *replies)`: canned `Reply`s served in order, the last one repeating;
- `route(method, path, handler)`: an `async handler(request) -> web.StreamResponse`;
- `websocket(path, handler)`: an `async handler(ws, request)` on an upgraded connection;
- `sse_response(request, events)`: a helper that streams Server-Sent Events.

Bounded: at most `max_requests` requests are served (then 503), start and stop wait at most
`STARTUP_S` / `SHUTDOWN_S` seconds, and stopping cancels whatever handler still runs.
Unscripted routes answer 404 (and are recorded, so a test sees the stray request).
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import Message
from email.parser import BytesParser
from typing import Any

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
WsHandler = Callable[[web.WebSocketResponse, web.Request], Awaitable[None]]

STARTUP_S = 10.0
SHUTDOWN_S = 5.0
GRACE_S = 0.2  # how long in-flight handlers may finish at stop before they are cancelled
MAX_REQUESTS = 500


@dataclass(frozen=True)
class Recorded:
    """One request as the server received it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, tuple[str | None, bytes]]:
        """A multipart/form-data body as {field: (filename or None, bytes)}."""
        return parse_form(self.headers.get("Content-Type", ""), self.body)


def parse_form(content_type: str, body: bytes) -> dict[str, tuple[str | None, bytes]]:
    """A multipart/form-data body as {field: (filename or None, bytes)}."""
    message = BytesParser().parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    parts: dict[str, tuple[str | None, bytes]] = {}
    for part in message.get_payload() if message.is_multipart() else []:
        assert isinstance(part, Message)
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        parts[str(name)] = (part.get_filename(), payload if isinstance(payload, bytes) else b"")
    return parts


@dataclass
class Reply:
    """A canned answer. `json` wins over `body`; `delay` (seconds) stalls before answering."""

    status: int = 200
    json: Any = None
    body: bytes | str = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str | None = None
    delay: float = 0.0

    async def send(self, request: web.Request) -> web.StreamResponse:
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.json is not None:
            return web.json_response(self.json, status=self.status, headers=self.headers)
        body = self.body.encode() if isinstance(self.body, str) else self.body
        return web.Response(
            status=self.status, body=body, headers=self.headers, content_type=self.content_type
        )


async def sse_response(
    request: web.Request, events: Iterable[tuple[str | None, str]], *, pause: float = 0.0
) -> web.StreamResponse:
    """Stream `(event name or None, data)` pairs as text/event-stream, `pause` s apart."""
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    for name, data in events:
        lines = [f"event: {name}"] if name else []
        lines += [f"data: {line}" for line in data.split("\n")]
        await response.write(("\n".join(lines) + "\n\n").encode())
        if pause:
            await asyncio.sleep(pause)
    await response.write_eof()
    return response


class FakeServer:
    """A loopback HTTP/SSE/websocket server in a background thread (see the module doc)."""

    def __init__(self, max_requests: int = MAX_REQUESTS) -> None:
        self.max_requests = max_requests
        self.requests: list[Recorded] = []
        self._routes: dict[tuple[str, str], Handler] = {}
        self._patterns: list[tuple[str, re.Pattern[str], Handler]] = []
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None  # start() makes the loop and thread
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._on_stop: list[Callable[[], Awaitable[None]]] = []
        self.port = 0

    # --- scripting ------------------------------------------------------------------------

    def route(self, method: str, path: str, handler: Handler) -> None:
        """Serve `path` with `handler`; `{name}` stands for one path segment (`/history/{id}`)."""
        self._routes[(method.upper(), path)] = handler
        if "{" in path:
            pattern = re.sub(r"\\\{[^/]*?\\\}", "[^/]+", re.escape(path))
            self._patterns.append((method.upper(), re.compile(pattern), handler))

    def reply(self, method: str, path: str, *replies: Reply) -> None:
        """Serve `replies` in order; the last one repeats."""
        queue = list(replies)

        async def handler(request: web.Request) -> web.StreamResponse:
            current = queue.pop(0) if len(queue) > 1 else queue[0]
            return await current.send(request)

        self.route(method, path, handler)

    def websocket(self, path: str, handler: WsHandler) -> None:
        async def upgrade(request: web.Request) -> web.StreamResponse:
            ws = web.WebSocketResponse()
            await ws.prepare(request)
            await handler(ws, request)
            await ws.close()
            return ws

        self.route("GET", path, upgrade)

    def on_stop(self, cleanup: Callable[[], Awaitable[None]]) -> None:
        """Run `await cleanup()` on the server's loop when it stops (end background tasks)."""
        self._on_stop.append(cleanup)

    def requests_to(self, method: str, path: str) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if r.method == method and r.path == path]

    def call(self, coro: Awaitable[Any], timeout: float = STARTUP_S) -> Any:
        """Run a coroutine on the server's loop (e.g. to push a frame) and wait for it."""
        if self._loop is None:
            raise RuntimeError("the fake server is not started")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)  # type: ignore[arg-type]

    # --- addresses ------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    # --- life cycle -----------------------------------------------------------------------

    def start(self) -> FakeServer:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self.call(self._start(), STARTUP_S)
        return self

    def stop(self) -> None:
        if self._loop is None or self._thread is None:
            return
        try:
            for cleanup in self._on_stop:
                self.call(cleanup(), SHUTDOWN_S)
            if self._runner is not None:
                self.call(self._runner.cleanup(), SHUTDOWN_S + 1)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(SHUTDOWN_S)
            if not self._thread.is_alive():
                self._loop.close()

    async def _start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app, shutdown_timeout=GRACE_S, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.port = self._runner.addresses[0][1]

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        with self._lock:
            self.requests.append(
                Recorded(
                    request.method,
                    request.path,
                    dict(request.query),
                    dict(request.headers),
                    body,
                )
            )
            over = len(self.requests) > self.max_requests
        if over:
            return web.Response(status=503, text="fake server: request budget spent")
        handler = self._routes.get((request.method, request.path))
        for method, pattern, candidate in self._patterns:
            if handler is None and method == request.method and pattern.fullmatch(request.path):
                handler = candidate
        if handler is None:
            return web.json_response({"error": "not scripted"}, status=404)
        return await handler(request)


@contextmanager
def running(server: FakeServer | None = None) -> Iterator[FakeServer]:
    """Start a server for the block and always stop it."""
    server = (server or FakeServer()).start()
    try:
        yield server
    finally:
        server.stop()
