"""The one HTTP layer every API adapter shares: errors, transport failures, polling, SSE.

    error_for_response(response)   status + provider error body -> ImagenError (never raises)
    raise_for_status(response)     raises that error for a 4xx/5xx (or an unfollowed 3xx)
    response_json(response, url)   the JSON body, or ImagenError(unavailable) naming the URL
    map_transport_errors(url)      connect/read errors -> unavailable naming the URL,
                                   timeouts -> timeout
    poll(fetch, done, every=...)   async polling with a growing interval; cancellable
    iter_sse(client, method, url)  Server-Sent Events from a request, errors already mapped

Status mapping (provider facts from `shared/reference/providers.md` §0-§8, re-checked
2026-11-29 against openai-python 3.57, google-genai 3.6.1, replicate-python 1.0.7,
fal-client 1.0.3):

    safety marker in the body (any 4xx)     safety_blocked
    401, 403                                auth_failed
    400 with an invalid-key marker (Gemini) auth_failed
    402, 429 + quota marker                 quota_exhausted
    429                                     rate_limited (Retry-After honoured)
    408, 409, 5xx, unfollowed 3xx           unavailable (retried by the engine)
    other 4xx                               bad_request

Error bodies understood: OpenAI/xAI `{"error": {"message", "type", "code"}}`, Gemini
`{"error": {"code", "message", "status", "details"}}`, Replicate RFC 7807 `{"title", "detail",
"status"}`, fal `{"detail": str | [{"loc", "msg", "type"}], "error_type"}`, ComfyUI
`{"error": {"type", "message", "details"}, "node_errors"}` or `{"error": "no prompt"}`, A1111
`{"error", "detail"}`, Stability `{"name", "errors"}`; anything else is quoted as text.

The SSE client is httpx-sse (EventSource over an httpx streamed response): it keeps our one
injected `httpx.AsyncClient` and adds no transport of its own.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import httpx
from httpx_sse import EventSource, ServerSentEvent, SSEError

from .errors import ErrorCode, ImagenError
from .provider_errors import ErrorBody, parse_error_body
from .retry import parse_retry_after
from .text import one_line

T = TypeVar("T")

REQUEST_ID_HEADERS = ("x-request-id", "x-fal-request-id", "request-id")
RETRY_STATUSES = frozenset({408, 409})
_USERINFO = re.compile(r"://[^/@?#]*@")
SSE_DONE = "[DONE]"
"""OpenAI streams end with `data: [DONE]` (openai-python `_streaming.py`, 2026-11-29)."""


def error_for_response(response: httpx.Response) -> ImagenError:
    """The taxonomy error for a failed response (see the table above). Never raises.

    The body must have been read (`await response.aread()` for a streamed response); an unread
    body counts as empty. `.status` is the HTTP status; `.retry_after` (seconds) comes from
    `retry-after-ms`, then `Retry-After`, then the body (Gemini `RetryInfo.retryDelay`).
    """
    status = response.status_code
    body = parse_error_body(_body_of(response))
    code = _code_for(status, body)
    retry_after = parse_retry_after(
        response.headers.get("retry-after"), ms=response.headers.get("retry-after-ms")
    )
    if retry_after is None:
        retry_after = body.retry_after
    detail = f"HTTP {status}"
    if body.message:
        detail += f": {body.message}"
    request_id = next(
        (response.headers[h] for h in REQUEST_ID_HEADERS if h in response.headers), ""
    )
    if request_id:
        detail += f" [request {one_line(request_id, 80)}]"
    return ImagenError(code, detail, retry_after=retry_after, status=status)


def error_for_payload(payload: Any) -> ImagenError:
    """The taxonomy error for an error carried inside a 200 stream (an SSE `error` event).

    `payload` is the decoded JSON. Safety, quota, auth and rate-limit markers map as for
    responses; server/overload codes to unavailable; anything else to bad_request.
    """
    body = parse_error_body(payload)
    if body.safety:
        code = ErrorCode.SAFETY_BLOCKED
    elif body.quota:
        code = ErrorCode.QUOTA_EXHAUSTED
    elif body.auth:
        code = ErrorCode.AUTH_FAILED
    elif body.rate_limited:
        code = ErrorCode.RATE_LIMITED
    elif body.server_side:
        code = ErrorCode.UNAVAILABLE
    else:
        code = ErrorCode.BAD_REQUEST
    return ImagenError(code, body.message or "error event", retry_after=body.retry_after)


def raise_for_status(response: httpx.Response) -> None:
    """Raise `error_for_response(response)` unless the status is 1xx/2xx."""
    if response.status_code >= 300:
        raise error_for_response(response)


def response_json(response: httpx.Response, url: str = "") -> Any:
    """The decoded JSON body; a body that is not JSON is `unavailable` naming the URL."""
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        where = redact_url(url or str(response.request.url))
        raise ImagenError(
            ErrorCode.UNAVAILABLE,
            f"{where} answered HTTP {response.status_code} with bad JSON: {exc}",
        ) from None


@contextmanager
def map_transport_errors(url: str) -> Iterator[None]:
    """Turn transport failures inside the block into taxonomy errors naming `url`.

    Connect errors (refused, DNS, TLS, connect timeout), dropped connections and protocol
    errors -> unavailable; read/write/pool timeouts -> timeout; an unusable URL -> unavailable
    ("check base_url"). `ImagenError` and cancellation pass through untouched.
    """
    where = one_line(redact_url(url), 200)
    try:
        yield
    except httpx.ConnectTimeout:
        raise ImagenError(ErrorCode.UNAVAILABLE, f"cannot connect to {where}: timed out") from None
    except httpx.TimeoutException as exc:
        kind = type(exc).__name__.removesuffix("Timeout").lower() or "request"
        raise ImagenError(ErrorCode.TIMEOUT, f"{where}: {kind} timed out") from None
    except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
        raise ImagenError(ErrorCode.UNAVAILABLE, f"invalid URL {where}: {one_line(exc)}") from None
    except httpx.ConnectError as exc:
        raise ImagenError(
            ErrorCode.UNAVAILABLE, f"cannot connect to {where}: {_reason(exc)}"
        ) from None
    except (httpx.TransportError, OSError) as exc:
        raise ImagenError(ErrorCode.UNAVAILABLE, f"{where}: {_reason(exc)}") from None


async def poll(
    fetch: Callable[[], Awaitable[T]],
    done: Callable[[T], bool],
    *,
    every: float = 0.5,
    max_every: float | None = None,
    factor: float = 1.5,
) -> T:
    """Call `fetch()` until `done(value)`; return that value.

    Sleeps `every` seconds after the first miss, growing by `factor` up to `max_every`
    (default `every`: a fixed interval). The sleep is `asyncio.sleep`, so cancelling the task
    (the engine's timeout or a user's cancel) stops the loop at once; there is no deadline of
    its own. Errors from `fetch` propagate.
    """
    if every <= 0:
        raise ValueError("every must be > 0 seconds")
    ceiling = max(every, max_every if max_every is not None else every)
    delay = every
    while True:
        value = await fetch()
        if done(value):
            return value
        await asyncio.sleep(delay)
        delay = min(ceiling, delay * factor)


async def iter_sse(
    client: httpx.AsyncClient, method: str, url: str, **kwargs: Any
) -> AsyncIterator[ServerSentEvent]:
    """Send a request and yield its Server-Sent Events (`.event`, `.data`, `.id`, `.json()`).

    A 3xx/4xx/5xx is raised as `error_for_response`; a 200 that is not `text/event-stream`
    (a JSON error from a gateway, say) is mapped the same way, or to unavailable; transport
    failures as `map_transport_errors(url)`. Stops at `data: [DONE]`. `kwargs` go to
    `client.stream` (json=, headers=, timeout=...).
    """
    headers = {**kwargs.pop("headers", {}), "Accept": "text/event-stream"}
    with map_transport_errors(url):
        async with client.stream(method, url, headers=headers, **kwargs) as response:
            if response.status_code >= 300:
                await response.aread()
                raise error_for_response(response)
            source = EventSource(response)
            try:
                async for event in source.aiter_sse():
                    if event.data == SSE_DONE:
                        return
                    yield event
            except SSEError:
                await response.aread()
                raise _not_a_stream(response, url) from None


def redact_url(url: str) -> str:
    """`url` without credentials in its userinfo (`http://user:secret@host` → `http://***@host`)."""
    return _USERINFO.sub("://***@", url)


def _not_a_stream(response: httpx.Response, url: str) -> ImagenError:
    body = parse_error_body(_body_of(response))
    if body.safety or body.quota or body.auth or body.rate_limited:
        return error_for_payload(_body_of(response))
    kind = response.headers.get("content-type", "no content type")
    return ImagenError(
        ErrorCode.UNAVAILABLE,
        f"{one_line(url, 200)} sent {one_line(kind, 60)}, not an event stream",
    )


def _code_for(status: int, body: ErrorBody) -> ErrorCode:
    if 400 <= status < 500 and body.safety:
        return ErrorCode.SAFETY_BLOCKED
    if status in (401, 403) or (status == 400 and body.auth):
        return ErrorCode.AUTH_FAILED
    if status == 402 or (status == 429 and body.quota):
        return ErrorCode.QUOTA_EXHAUSTED
    if status == 429:
        return ErrorCode.RATE_LIMITED
    if status in RETRY_STATUSES or status >= 500 or status < 400:
        return ErrorCode.UNAVAILABLE
    return ErrorCode.BAD_REQUEST


def _body_of(response: httpx.Response) -> Any:
    """The decoded JSON body, else its text, else "" (unread or undecodable)."""
    try:
        raw = response.content
    except httpx.ResponseNotRead:
        return ""
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return raw.decode("utf-8", "replace")


def _reason(exc: BaseException) -> str:
    """A short reason: the innermost OS error when there is one (e.g. "Connection refused")."""
    inner: BaseException | None = exc
    while inner is not None:
        if isinstance(inner, OSError) and (inner.errno or inner.strerror):
            return one_line(os.strerror(inner.errno) if inner.errno else inner.strerror, 120)
        inner = inner.__cause__ or inner.__context__
    return one_line(str(exc) or type(exc).__name__, 120)
