"""Status codes and provider error bodies map onto the error taxonomy (pure: no sockets)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from imagen_tui.backends.errors import ErrorCode, ImagenError
from imagen_tui.backends.http import (
    error_for_payload,
    error_for_response,
    map_transport_errors,
    raise_for_status,
    redact_url,
    response_json,
)
from imagen_tui.backends.provider_errors import parse_error_body
from imagen_tui.backends.text import one_line

URL = "https://api.example.test/v1/images"


def response(
    status: int, body: Any = None, headers: dict[str, str] | None = None
) -> httpx.Response:
    request = httpx.Request("POST", URL)
    if isinstance(body, str | bytes):
        return httpx.Response(status, content=body, headers=headers, request=request)
    return httpx.Response(status, json=body, headers=headers, request=request)


OPENAI_MODERATION = {
    "error": {
        "message": "Your request was rejected by the safety system.",
        "type": "image_generation_user_error",
        "param": None,
        "code": "moderation_blocked",
    }
}
OPENAI_QUOTA = {
    "error": {
        "message": "You exceeded your current quota.",
        "type": "insufficient_quota",
        "code": "insufficient_quota",
    }
}
OPENAI_RATE = {"error": {"message": "Rate limit reached", "code": "rate_limit_exceeded"}}
GEMINI_RATE = {
    "error": {
        "code": 429,
        "message": "Resource has been exhausted",
        "status": "RESOURCE_EXHAUSTED",
        "details": [
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "37s"},
        ],
    }
}
GEMINI_DAILY = {
    "error": {
        "code": 429,
        "message": "Quota exceeded",
        "status": "RESOURCE_EXHAUSTED",
        "details": [
            {
                "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                "violations": [{"quotaId": "GenerateRequestsPerDayPerProjectPerModel"}],
            }
        ],
    }
}
GEMINI_BAD_KEY = {
    "error": {
        "code": 400,
        "message": "API key not valid. Please pass a valid API key.",
        "status": "INVALID_ARGUMENT",
        "details": [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID"}
        ],
    }
}
REPLICATE_429 = {
    "title": "Request was throttled",
    "detail": "Request was throttled. Your rate limit resets in ~30s.",
    "status": 429,
}
FAL_POLICY = {
    "detail": [
        {"loc": ["body", "prompt"], "msg": "prompt flagged", "type": "content_policy_violation"}
    ]
}
COMFY_NODE_ERRORS = {
    "error": {
        "type": "prompt_outputs_failed_validation",
        "message": "Prompt outputs failed validation",
        "details": "",
        "extra_info": {},
    },
    "node_errors": {
        "1": {
            "errors": [
                {
                    "type": "required_input_missing",
                    "message": "Required input is missing",
                    "details": "width",
                }
            ],
            "dependent_outputs": ["3"],
            "class_type": "EmptyImage",
        }
    },
}


@pytest.mark.parametrize(
    ("status", "body", "code"),
    [
        (400, OPENAI_MODERATION, ErrorCode.SAFETY_BLOCKED),
        (400, {"error": {"message": "x", "code": "content_policy_violation"}}, "safety_blocked"),
        (400, {"error": {"message": "bad size", "type": "invalid_request_error"}}, "bad_request"),
        (
            401,
            {"error": {"message": "Incorrect API key", "code": "invalid_api_key"}},
            "auth_failed",
        ),
        (403, {"error": {"message": "organization must be verified"}}, "auth_failed"),
        (429, OPENAI_QUOTA, ErrorCode.QUOTA_EXHAUSTED),
        (429, OPENAI_RATE, ErrorCode.RATE_LIMITED),
        (429, GEMINI_RATE, ErrorCode.RATE_LIMITED),
        (429, GEMINI_DAILY, ErrorCode.QUOTA_EXHAUSTED),
        (400, GEMINI_BAD_KEY, ErrorCode.AUTH_FAILED),
        (
            403,
            {"error": {"code": 403, "status": "PERMISSION_DENIED", "message": "no"}},
            "auth_failed",
        ),
        (
            503,
            {"error": {"code": 503, "status": "UNAVAILABLE", "message": "overloaded"}},
            "unavailable",
        ),
        (429, REPLICATE_429, ErrorCode.RATE_LIMITED),
        (
            402,
            {"title": "Insufficient credit", "detail": "add a payment method", "status": 402},
            "quota_exhausted",
        ),
        (422, FAL_POLICY, ErrorCode.SAFETY_BLOCKED),
        (
            422,
            {"detail": [{"loc": ["body", "steps"], "msg": "too big", "type": "value_error"}]},
            "bad_request",
        ),
        (400, COMFY_NODE_ERRORS, ErrorCode.BAD_REQUEST),
        (400, {"error": "no prompt", "node_errors": {}}, ErrorCode.BAD_REQUEST),
        (403, {"name": "content_moderation", "errors": ["flagged"]}, ErrorCode.SAFETY_BLOCKED),
        (404, {"error": "Not Found", "detail": "Sampler not found"}, ErrorCode.BAD_REQUEST),
        (408, "", ErrorCode.UNAVAILABLE),
        (409, "", ErrorCode.UNAVAILABLE),
        (500, "Internal Server Error", ErrorCode.UNAVAILABLE),
        (502, "<html>bad gateway</html>", ErrorCode.UNAVAILABLE),
        (504, "", ErrorCode.UNAVAILABLE),
        (302, "", ErrorCode.UNAVAILABLE),
    ],
)
def test_status_and_body_map_to_a_code(status: int, body: Any, code: str) -> None:
    err = error_for_response(response(status, body))
    assert err.code == ErrorCode(code)
    assert err.status == status
    assert err.detail.startswith(f"HTTP {status}")


def test_retryable_codes_are_exactly_rate_limits_and_outages() -> None:
    assert error_for_response(response(429, OPENAI_RATE)).retryable
    assert error_for_response(response(500, "")).retryable
    assert not error_for_response(response(429, OPENAI_QUOTA)).retryable
    assert not error_for_response(response(400, OPENAI_MODERATION)).retryable


def test_message_names_the_provider_reason() -> None:
    err = error_for_response(response(400, OPENAI_MODERATION))
    assert "rejected by the safety system" in err.message
    comfy = error_for_response(response(400, COMFY_NODE_ERRORS))
    assert "node 1 (EmptyImage): Required input is missing: width" in comfy.detail
    fal = error_for_response(response(422, FAL_POLICY))
    assert "body.prompt: prompt flagged" in fal.detail


@pytest.mark.parametrize(
    ("headers", "body", "expected"),
    [
        ({"Retry-After": "12"}, OPENAI_RATE, 12.0),
        ({"retry-after-ms": "1500", "Retry-After": "12"}, OPENAI_RATE, 1.5),
        ({}, GEMINI_RATE, 37.0),
        ({"Retry-After": "2"}, GEMINI_RATE, 2.0),  # the header beats the body
        ({}, REPLICATE_429, 30.0),
        ({}, OPENAI_RATE, None),
    ],
)
def test_retry_after_from_headers_then_body(
    headers: dict[str, str], body: Any, expected: float | None
) -> None:
    assert error_for_response(response(429, body, headers)).retry_after == expected


def test_retry_after_http_date() -> None:
    err = error_for_response(response(503, "", {"Retry-After": "Wed, 21 Oct 2099 07:28:00 GMT"}))
    assert err.retry_after is not None and err.retry_after > 1e6


def test_request_id_is_kept_for_the_log() -> None:
    err = error_for_response(response(500, "", {"x-request-id": "req_abc123"}))
    assert "[request req_abc123]" in err.detail
    fal = error_for_response(response(500, "", {"x-fal-request-id": "f-1"}))
    assert "[request f-1]" in fal.detail


def test_control_characters_never_reach_the_detail() -> None:
    evil = {"error": {"message": "boom\x1b]52;c;AAAA\x07\x1b[2J\nnext\u202eline"}}
    err = error_for_response(response(400, evil))
    assert not any(ord(ch) < 32 or ord(ch) == 0x7F for ch in err.message)
    assert "\u202e" not in err.message
    assert "boom" in err.message and "next" in err.message


def test_huge_bodies_are_cut() -> None:
    err = error_for_response(response(500, "x" * 100_000))
    assert len(err.detail) < 400 and err.detail.endswith("…")


def test_unread_streamed_body_counts_as_empty() -> None:
    stream = httpx.Response(
        500, stream=httpx.ByteStream(b"never read"), request=httpx.Request("GET", URL)
    )
    err = error_for_response(stream)
    assert err.code == ErrorCode.UNAVAILABLE and err.detail == "HTTP 500"


def test_raise_for_status_passes_success_and_raises_failure() -> None:
    raise_for_status(response(200, {"ok": True}))
    raise_for_status(response(204, ""))
    with pytest.raises(ImagenError) as info:
        raise_for_status(response(401, {"error": {"message": "bad key"}}))
    assert info.value.code == ErrorCode.AUTH_FAILED


def test_response_json_names_the_url_on_garbage() -> None:
    assert response_json(response(200, {"a": 1})) == {"a": 1}
    with pytest.raises(ImagenError) as info:
        response_json(response(200, "{truncated"))
    assert info.value.code == ErrorCode.UNAVAILABLE and URL in info.value.detail


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (
            {"type": "error", "error": {"code": "moderation_blocked", "message": "no"}},
            "safety_blocked",
        ),
        (
            {"type": "error", "error": {"code": "rate_limit_exceeded", "message": "slow"}},
            "rate_limited",
        ),
        (
            {"type": "error", "error": {"code": "insufficient_quota", "message": "pay"}},
            "quota_exhausted",
        ),
        ({"type": "error", "error": {"code": "server_error", "message": "oops"}}, "unavailable"),
        ({"type": "error", "error": {"code": "invalid_api_key", "message": "key"}}, "auth_failed"),
        ({"type": "error", "error": {"code": "invalid_value", "message": "size"}}, "bad_request"),
        (
            {"error": {"moderation_details": {"moderation_stage": "output"}, "message": "m"}},
            "safety_blocked",
        ),
    ],
)
def test_stream_error_payloads(payload: dict[str, Any], code: str) -> None:
    assert error_for_payload(payload).code == ErrorCode(code)


def test_parse_error_body_shapes() -> None:
    assert parse_error_body("plain text").message == "plain text"
    assert parse_error_body(None).message == ""
    assert parse_error_body([1, 2]).message == "[1, 2]"
    assert parse_error_body({"message": "m", "code": "X"}).codes == frozenset({"x"})
    stability = parse_error_body({"name": "bad_request", "errors": ["a", "b"]})
    assert stability.message == "a; b"
    assert parse_error_body(json.loads('{"detail": "Prediction not found"}')).message == (
        "Prediction not found"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a\nb\tc", "a b c"),
        ("\x1b[31mred\x1b[0m", "\u241b[31mred\u241b[0m"),
        ("  lots   of   space ", "lots of space"),
        ("zero\u200bwidth", "zero<U+200B>width"),
        ("日本語", "日本語"),
    ],
)
def test_one_line(text: str, expected: str) -> None:
    assert one_line(text) == expected


def test_one_line_limit() -> None:
    assert one_line("abcdef", limit=4) == "abc…"
    assert one_line("abcd", limit=4) == "abcd"


@pytest.mark.parametrize(
    ("exc", "code", "words"),
    [
        (
            httpx.ConnectError("[Errno 111] Connection refused"),
            ErrorCode.UNAVAILABLE,
            "cannot connect",
        ),
        (httpx.ConnectTimeout("slow"), ErrorCode.UNAVAILABLE, "timed out"),
        (httpx.ReadTimeout("slow"), ErrorCode.TIMEOUT, "read timed out"),
        (httpx.WriteTimeout("slow"), ErrorCode.TIMEOUT, "write timed out"),
        (httpx.PoolTimeout("busy"), ErrorCode.TIMEOUT, "pool timed out"),
        (httpx.RemoteProtocolError("peer closed"), ErrorCode.UNAVAILABLE, "peer closed"),
        (httpx.ReadError("reset"), ErrorCode.UNAVAILABLE, "reset"),
        (httpx.UnsupportedProtocol("no scheme"), ErrorCode.UNAVAILABLE, "invalid URL"),
        (ConnectionResetError(104, "Connection reset by peer"), ErrorCode.UNAVAILABLE, "reset"),
    ],
)
def test_transport_errors_name_the_url_without_credentials(
    exc: Exception, code: ErrorCode, words: str
) -> None:
    with pytest.raises(ImagenError) as info, map_transport_errors("http://me:s3cret@gpu:8188/x"):
        raise exc
    assert info.value.code == code and words in info.value.detail
    assert "http://***@gpu:8188/x" in info.value.detail and "s3cret" not in info.value.detail


def test_imagen_errors_pass_through_transport_mapping() -> None:
    with pytest.raises(ImagenError) as info, map_transport_errors("http://x"):
        raise ImagenError(ErrorCode.NO_IMAGE, "mine")
    assert info.value.code == ErrorCode.NO_IMAGE and info.value.detail == "mine"


def test_redact_url() -> None:
    assert redact_url("https://u:p@h/x?q=a@b") == "https://***@h/x?q=a@b"
    assert redact_url("http://127.0.0.1:8188/prompt") == "http://127.0.0.1:8188/prompt"
