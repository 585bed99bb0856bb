"""Fetching a provider's output file: an HTTPS URL on its CDN, or a `data:` URI inline.

Replicate (sync mode) and fal (`sync_mode: true`) may answer with `data:<mime>;base64,<B64>`
where a URL is expected, and Replicate uses `data:application/octet-stream` whatever the image
type, so the bytes are sniffed afterwards by the engine, never trusted by their label
(`shared/reference/providers.md` §3, §7, §9; replicate-python `helpers.py`, checked 2026-11-29).
Output URLs are temporary (Replicate deletes API outputs after 1 hour): download at once.
CDN downloads carry no API key: the key only ever goes to the configured `base_url`.
"""

from __future__ import annotations

import base64
import binascii
from urllib.parse import unquote_to_bytes

import httpx

from ..errors import ErrorCode, ImagenError
from ..http import map_transport_errors, raise_for_status
from ..imageheader import truncation
from ..text import one_line

MAX_OUTPUT_BYTES = 200 * 1024 * 1024
"""Refuse outputs larger than this (200 MiB): no image model makes one."""


def image_problem(data: bytes) -> str | None:
    """Why `data` is not one whole image, or None (see `imageheader.truncation`)."""
    return truncation(data)


def check_image(data: bytes, where: str) -> bytes:
    """`data` when `image_problem` finds nothing; else `ImagenError(NO_IMAGE)` naming `where`."""
    problem = image_problem(data)
    if problem is not None:
        raise ImagenError(ErrorCode.NO_IMAGE, f"{one_line(where, 200)}: {problem}")
    return data


def is_data_uri(value: str) -> bool:
    return value[:5].lower() == "data:"


def decode_data_uri(uri: str) -> bytes:
    """The bytes of a `data:[<mime>][;base64],<payload>` URI (RFC 2397).

    Raises `ImagenError(NO_IMAGE)` when it is malformed or empty.
    """
    head, sep, payload = uri.partition(",")
    if not sep or not is_data_uri(head):
        raise ImagenError(ErrorCode.NO_IMAGE, "malformed data: URI in the output")
    try:
        if head.lower().endswith(";base64"):
            data = base64.b64decode("".join(payload.split()), validate=True)
        else:
            data = unquote_to_bytes(payload)
    except (binascii.Error, ValueError):
        raise ImagenError(ErrorCode.NO_IMAGE, "the output data: URI is not valid base64") from None
    if not data:
        raise ImagenError(ErrorCode.NO_IMAGE, "the output data: URI is empty")
    return data


async def fetch_output(client: httpx.AsyncClient, url: str) -> bytes:
    """The bytes of one whole image: decoded from a `data:` URI, else downloaded (no auth header).

    Raises `ImagenError`: NO_IMAGE for an empty, oversized, truncated or non-image body or a URL
    that is gone (404/410: outputs expire), the shared HTTP mapping otherwise (unavailable naming
    the URL on transport errors, so the engine retries).
    """
    if is_data_uri(url):
        return check_image(decode_data_uri(url), "output data: URI")
    with map_transport_errors(url):
        response = await client.get(url, follow_redirects=True)
    if response.status_code in (404, 410):
        raise ImagenError(
            ErrorCode.NO_IMAGE, f"output {one_line(url, 200)} is gone (HTTP {response.status_code})"
        )
    raise_for_status(response)
    data = response.content
    if not data:
        raise ImagenError(ErrorCode.NO_IMAGE, f"output {one_line(url, 200)} is empty")
    if len(data) > MAX_OUTPUT_BYTES:
        raise ImagenError(ErrorCode.NO_IMAGE, f"output {one_line(url, 200)} is too large")
    return check_image(data, f"output {url}")
