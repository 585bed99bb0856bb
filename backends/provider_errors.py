"""Read a provider's error body into one neutral record. Pure: no I/O, never raises.

Shapes (from `shared/reference/providers.md`, re-checked 2026-11-29):

- OpenAI / xAI: `{"error": {"message", "type", "param", "code"}}`; `code` `moderation_blocked`
  (legacy `content_policy_violation`) = safety, `insufficient_quota` = billing, optional
  `moderation_details`. SSE error events wrap the same object: `{"type": "error", "error": ...}`.
- Gemini: `{"error": {"code": 429, "message", "status": "RESOURCE_EXHAUSTED", "details": [...]}}`
  with `google.rpc.RetryInfo {"retryDelay": "37s"}`, `google.rpc.QuotaFailure {"violations":
  [{"quotaId": "...PerDay..."}]}` (a daily quota will not clear soon), `google.rpc.ErrorInfo
  {"reason": "API_KEY_INVALID"}` (a bad key is a 400 there).
- Replicate: RFC 7807 `{"type", "title", "status", "detail"}`; 429 detail "... resets in ~30s".
- fal / A1111 422: `{"detail": [{"loc": [...], "msg", "type"}]}`; fal `error_type`; a
  `content_policy_violation` item = safety. A1111 other errors `{"error": Name, "detail"}`.
- ComfyUI: `{"error": {"type", "message", "details"}, "node_errors": {...}}`; old servers
  `{"error": "no prompt"}`.
- Stability: `{"name", "errors": [str]}`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .text import one_line

SAFETY_CODES = frozenset(
    {
        "moderation_blocked",
        "content_policy_violation",
        "content_filter",
        "content_moderated",
        "request_moderated",
        "content_moderation",
        "safety",
        "image_safety",
        "prohibited_content",
        "blocklist",
    }
)
QUOTA_CODES = frozenset(
    {"insufficient_quota", "billing_hard_limit_reached", "insufficient_credit", "payment_required"}
)
AUTH_CODES = frozenset(
    {"invalid_api_key", "api_key_invalid", "unauthenticated", "authentication_error"}
)
RATE_CODES = frozenset({"rate_limit_exceeded", "rate_limited", "resource_exhausted"})
SERVER_CODES = frozenset(
    {"server_error", "internal", "internal_error", "unavailable", "overloaded", "timeout"}
)
_SECONDS = re.compile(r"(?:resets? in|retry in|after)\s*~?\s*(\d+(?:\.\d+)?)\s*s", re.I)


@dataclass(frozen=True, slots=True)
class ErrorBody:
    """What an error body says: a one-line message and what kind of failure it marks."""

    message: str = ""
    codes: frozenset[str] = frozenset()
    """Machine codes found (`code`, `type`, `status`, `reason`...), lower-case."""
    retry_after: float | None = None
    """Seconds, when the body says how long to wait."""
    daily_quota: bool = False

    @property
    def safety(self) -> bool:
        return bool(self.codes & SAFETY_CODES)

    @property
    def quota(self) -> bool:
        return self.daily_quota or bool(self.codes & QUOTA_CODES)

    @property
    def auth(self) -> bool:
        return bool(self.codes & AUTH_CODES)

    @property
    def rate_limited(self) -> bool:
        return bool(self.codes & RATE_CODES)

    @property
    def server_side(self) -> bool:
        return bool(self.codes & SERVER_CODES)


def parse_error_body(body: Any) -> ErrorBody:
    """Read a decoded JSON error body (or plain text) into an `ErrorBody`."""
    if isinstance(body, str):
        return ErrorBody(message=one_line(body))
    if not isinstance(body, dict):
        return ErrorBody(message=one_line(body) if body not in (None, "") else "")
    error = body.get("error")
    if isinstance(error, dict):
        return _error_object(error, body)
    if "detail" in body or "title" in body:
        return _detail_body(body)
    if isinstance(error, str):
        return ErrorBody(message=one_line(error), codes=_codes(error))
    if isinstance(body.get("errors"), list):
        codes = _codes(body.get("name"))
        return ErrorBody(message=one_line("; ".join(map(str, body["errors"]))), codes=codes)
    return ErrorBody(message=one_line(body.get("message", "")), codes=_codes(body.get("code")))


def _error_object(error: dict[str, Any], body: dict[str, Any]) -> ErrorBody:
    """OpenAI/xAI, Gemini and ComfyUI: an `error` object."""
    codes = _codes(error.get("code"), error.get("type"), error.get("status"))
    if error.get("moderation_details"):
        codes |= {"moderation_blocked"}
    message = str(error.get("message") or "")
    details = error.get("details")
    retry_after, daily = None, False
    if isinstance(details, list):
        retry_after, daily, reasons = _google_details(details)
        codes |= reasons
    elif isinstance(details, str) and details:
        message = f"{message}: {details}" if message else details
    nodes = _comfy_node_errors(body.get("node_errors"))
    if nodes:
        message = f"{message}: {nodes}" if message else nodes
    return ErrorBody(one_line(message), codes, retry_after, daily)


def _detail_body(body: dict[str, Any]) -> ErrorBody:
    """Replicate (RFC 7807), fal, FastAPI/A1111: `detail` as text or a list of items."""
    detail = body.get("detail")
    codes = _codes(body.get("error_type"), body.get("type"), body.get("error"))
    if isinstance(detail, list):
        items = [item for item in detail if isinstance(item, dict)]
        codes |= _codes(*(item.get("type") for item in items))
        message = "; ".join(_loc_msg(item) for item in items) or str(detail)
    else:
        message = str(detail or body.get("title") or "")
        if isinstance(body.get("error"), str) and body["error"] not in message:
            message = f"{body['error']}: {message}" if message else body["error"]
    match = _SECONDS.search(message)
    retry_after = float(match.group(1)) if match else None
    return ErrorBody(one_line(message), codes, retry_after)


def _loc_msg(item: dict[str, Any]) -> str:
    loc = item.get("loc")
    where = ".".join(str(p) for p in loc) if isinstance(loc, list) else ""
    msg = str(item.get("msg") or item.get("message") or "")
    return f"{where}: {msg}" if where else msg


def _google_details(details: list[Any]) -> tuple[float | None, bool, frozenset[str]]:
    """Gemini `error.details`: RetryInfo delay, a per-day QuotaFailure, ErrorInfo reasons."""
    retry_after, daily, reasons = None, False, set()
    for item in details:
        if not isinstance(item, dict):
            continue
        kind = str(item.get("@type", ""))
        if kind.endswith("RetryInfo"):
            retry_after = _duration(item.get("retryDelay"))
        elif kind.endswith("QuotaFailure"):
            for v in item.get("violations") or []:
                daily = daily or "perday" in str((v or {}).get("quotaId", "")).lower()
        elif kind.endswith("ErrorInfo") and item.get("reason"):
            reasons.add(str(item["reason"]).lower())
    return retry_after, daily, frozenset(reasons)


def _duration(value: Any) -> float | None:
    """A protobuf Duration in JSON ("37s", "1.5s"), in seconds."""
    if isinstance(value, str) and value.endswith("s"):
        try:
            return max(0.0, float(value[:-1]))
        except ValueError:
            return None
    return None


def _comfy_node_errors(node_errors: Any) -> str:
    """ComfyUI `node_errors` as "node 1 (EmptyImage): Required input is missing: width"."""
    if not isinstance(node_errors, dict):
        return ""
    parts = []
    for node, info in node_errors.items():
        if not isinstance(info, dict):
            continue
        for err in info.get("errors") or []:
            if isinstance(err, dict):
                text = str(err.get("message", ""))
                if err.get("details"):
                    text += f": {err['details']}"
                parts.append(f"node {node} ({info.get('class_type', '?')}): {text}")
    return "; ".join(parts)


def _codes(*values: Any) -> frozenset[str]:
    return frozenset(v.strip().lower() for v in values if isinstance(v, str) and v.strip())
