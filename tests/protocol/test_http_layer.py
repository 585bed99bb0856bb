"""The shared HTTP layer against a real loopback server: transport errors, SSE, polling."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
import websockets
from aiohttp import web

from imagen_tui.backends.errors import ErrorCode, ImagenError
from imagen_tui.backends.http import iter_sse, map_transport_errors, poll, raise_for_status
from tests.fakes.server import FakeServer, Reply, running, sse_response


def closed_port_url() -> str:
    """A loopback URL nothing listens on (a server that was started, then stopped)."""
    with running() as server:
        url = server.url
    return url


async def get(url: str, timeout: float = 5.0) -> httpx.Response:
    async with httpx.AsyncClient(timeout=timeout) as client:
        with map_transport_errors(url):
            response = await client.get(url)
        raise_for_status(response)
        return response


def test_unreachable_server_names_the_url() -> None:
    url = closed_port_url() + "/prompt"
    with pytest.raises(ImagenError) as info:
        asyncio.run(get(url))
    assert info.value.code == ErrorCode.UNAVAILABLE
    assert url in info.value.detail and "refused" in info.value.detail.lower()


def test_invalid_url_is_unavailable_with_a_hint() -> None:
    with pytest.raises(ImagenError) as info:
        asyncio.run(get("localhost:8188/prompt"))
    assert info.value.code == ErrorCode.UNAVAILABLE
    assert "invalid URL localhost:8188/prompt" in info.value.detail


def test_read_timeout_is_timeout(fake_server: FakeServer) -> None:
    fake_server.reply("GET", "/slow", Reply(json={}, delay=30))
    with pytest.raises(ImagenError) as info:
        asyncio.run(get(fake_server.url + "/slow", timeout=0.2))
    assert info.value.code == ErrorCode.TIMEOUT
    assert "/slow" in info.value.detail


def test_dropped_connection_is_unavailable(fake_server: FakeServer) -> None:
    async def hang_up(request: web.Request) -> web.StreamResponse:
        assert request.transport is not None
        request.transport.close()
        return web.Response()

    fake_server.route("GET", "/drop", hang_up)
    with pytest.raises(ImagenError) as info:
        asyncio.run(get(fake_server.url + "/drop"))
    assert info.value.code == ErrorCode.UNAVAILABLE
    assert "/drop" in info.value.detail


def test_scripted_replies_run_in_order_and_are_recorded(fake_server: FakeServer) -> None:
    fake_server.reply(
        "GET",
        "/x",
        Reply(status=429, json={"error": {"message": "slow down"}}, headers={"Retry-After": "3"}),
        Reply(status=500, body="boom"),
        Reply(json={"ok": True}),
    )
    codes = []
    for _ in range(4):
        try:
            asyncio.run(get(fake_server.url + "/x?n=1"))
            codes.append("ok")
        except ImagenError as exc:
            codes.append(f"{exc.code}:{exc.retry_after}")
    assert codes == ["rate_limited:3.0", "unavailable:None", "ok", "ok"]
    seen = fake_server.requests_to("GET", "/x")
    assert len(seen) == 4 and seen[0].query == {"n": "1"}


def test_unscripted_route_is_404_and_recorded(fake_server: FakeServer) -> None:
    with pytest.raises(ImagenError) as info:
        asyncio.run(get(fake_server.url + "/nope"))
    assert info.value.code == ErrorCode.BAD_REQUEST and info.value.status == 404
    assert [r.path for r in fake_server.requests] == ["/nope"]


def test_request_budget_is_bounded() -> None:
    with running(FakeServer(max_requests=2)) as server:
        server.reply("GET", "/", Reply(json={}))
        asyncio.run(get(server.url + "/"))
        asyncio.run(get(server.url + "/"))
        with pytest.raises(ImagenError) as info:
            asyncio.run(get(server.url + "/"))
    assert info.value.status == 503


async def collect_sse(url: str, **kwargs: object) -> list[tuple[str, str]]:
    async with httpx.AsyncClient(timeout=5) as client:
        return [(e.event, e.data) async for e in iter_sse(client, "POST", url, json={"q": 1})]


def test_sse_events_stop_at_done(fake_server: FakeServer) -> None:
    events = [
        ("image_generation.partial_image", json.dumps({"partial_image_index": 0})),
        (None, json.dumps({"type": "image_generation.completed"})),
        (None, "[DONE]"),
        ("after", "never read"),
    ]

    async def stream(request: web.Request) -> web.StreamResponse:
        return await sse_response(request, events)

    fake_server.route("POST", "/v1/images/generations", stream)
    got = asyncio.run(collect_sse(fake_server.url + "/v1/images/generations"))
    assert got == [
        ("image_generation.partial_image", '{"partial_image_index": 0}'),
        ("message", '{"type": "image_generation.completed"}'),
    ]
    (sent,) = fake_server.requests_to("POST", "/v1/images/generations")
    assert sent.json() == {"q": 1} and sent.headers["Accept"] == "text/event-stream"


def test_sse_error_status_is_mapped(fake_server: FakeServer) -> None:
    fake_server.reply(
        "POST",
        "/s",
        Reply(status=429, json={"error": {"code": "insufficient_quota", "message": "pay"}}),
    )
    with pytest.raises(ImagenError) as info:
        asyncio.run(collect_sse(fake_server.url + "/s"))
    assert info.value.code == ErrorCode.QUOTA_EXHAUSTED and "pay" in info.value.detail


def test_sse_answered_with_json_is_not_a_stream(fake_server: FakeServer) -> None:
    fake_server.reply("POST", "/s", Reply(json={"hello": "world"}))
    fake_server.reply("POST", "/blocked", Reply(json={"error": {"code": "moderation_blocked"}}))
    with pytest.raises(ImagenError) as info:
        asyncio.run(collect_sse(fake_server.url + "/s"))
    assert info.value.code == ErrorCode.UNAVAILABLE and "not an event stream" in info.value.detail
    with pytest.raises(ImagenError) as blocked:
        asyncio.run(collect_sse(fake_server.url + "/blocked"))
    assert blocked.value.code == ErrorCode.SAFETY_BLOCKED


def test_poll_until_done_with_growing_interval(
    fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_server.reply(
        "GET",
        "/status",
        Reply(json={"status": "IN_QUEUE"}),
        Reply(json={"status": "IN_PROGRESS"}),
        Reply(json={"status": "IN_PROGRESS"}),
        Reply(json={"status": "COMPLETED"}),
    )
    sleeps: list[float] = []
    real_sleep = asyncio.sleep

    async def spy(delay: float) -> None:
        sleeps.append(delay)
        await real_sleep(0)

    async def main() -> dict[str, str]:
        async with httpx.AsyncClient() as client:

            async def fetch() -> dict[str, str]:
                return (await client.get(fake_server.url + "/status")).json()

            monkeypatch.setattr(asyncio, "sleep", spy)
            return await poll(fetch, lambda s: s["status"] == "COMPLETED", every=1, max_every=2)

    assert asyncio.run(main()) == {"status": "COMPLETED"}
    assert sleeps == [1, 1.5, 2]


def test_poll_is_cancellable() -> None:
    calls = 0

    async def fetch() -> int:
        nonlocal calls
        calls += 1
        return calls

    async def main() -> None:
        task = asyncio.create_task(poll(fetch, lambda _: False, every=60))
        while calls == 0:
            await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert calls == 1


def test_poll_rejects_a_zero_interval() -> None:
    async def fetch() -> int:
        return 0

    with pytest.raises(ValueError):
        asyncio.run(poll(fetch, lambda _: True, every=0))


def test_websocket_route(fake_server: FakeServer) -> None:
    async def echo(ws: web.WebSocketResponse, request: web.Request) -> None:
        await ws.send_str(
            json.dumps({"type": "status", "data": {"sid": request.query["clientId"]}})
        )
        await ws.send_bytes(b"\x00\x00\x00\x01\x00\x00\x00\x02png")

    fake_server.websocket("/ws", echo)

    async def main() -> list[object]:
        async with websockets.connect(fake_server.ws_url + "/ws?clientId=abc") as ws:
            return [await ws.recv(), await ws.recv()]

    text, binary = asyncio.run(main())
    assert json.loads(text) == {"type": "status", "data": {"sid": "abc"}}
    assert binary == b"\x00\x00\x00\x01\x00\x00\x00\x02png"
