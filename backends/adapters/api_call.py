"""One JSON API call through the shared HTTP layer: transport errors, status and body mapped.

A thin composition of `imagen_tui.backends.http` for adapters whose calls are plain
request → JSON answer (Replicate, fal): every failure leaves as an `ImagenError`.
"""

from __future__ import annotations

from typing import Any

import httpx

from ..http import map_transport_errors, raise_for_status, response_json


async def call_json(client: httpx.AsyncClient, method: str, url: str, **kwargs: Any) -> Any:
    """Send one request and return its decoded JSON body (None for an empty 2xx body).

    `kwargs` go to `client.request` (json=, headers=, params=, timeout=). Raises `ImagenError`:
    the taxonomy code for a 3xx/4xx/5xx (provider error bodies and `Retry-After` read by
    `http.error_for_response`), unavailable naming `url` for transport errors and bad JSON,
    timeout for read timeouts.
    """
    with map_transport_errors(url):
        response = await client.request(method, url, **kwargs)
    raise_for_status(response)
    if not response.content.strip():
        return None
    return response_json(response, url)
