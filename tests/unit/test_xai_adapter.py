"""The xai adapter's pure parts: sizes, JSON bodies, reply parsing, errors, cost, warnings."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from imagen_tui.backends.adapters.inline_images import InlineImage
from imagen_tui.backends.adapters.xai import (
    XaiBackend,
    XaiOptions,
    build_body,
    error_for,
    parse_reply,
)
from imagen_tui.backends.base import Capability
from imagen_tui.backends.errors import ErrorCode, ImagenError
from imagen_tui.backends.models import GenerationRequest

REF = InlineImage("image/png", b"\x89PNG....")


def backend(**options: Any) -> tuple[XaiBackend, XaiOptions]:
    opts = XaiOptions(**options)
    return XaiBackend("x", opts, env={"XAI_API_KEY": "k"}), opts


def req(**changes: Any) -> GenerationRequest:
    return GenerationRequest(prompt="fox", **changes)


def test_declaration_is_honest() -> None:
    assert XaiBackend.capabilities == {Capability.TXT2IMG, Capability.REFERENCES}
    assert XaiOptions().api_key_env == "XAI_API_KEY" and XaiOptions().model == "grok-imagine-image"
    assert "1024x1024" in XaiBackend.sizes


def test_generation_body_uses_xai_names_and_lower_case_resolution() -> None:
    x, opts = backend(quality="low")
    request = req(width=2896, height=1448)
    body = build_body(request, [], x.shape(request, opts), opts)
    assert body == {
        "model": "grok-imagine-image",
        "prompt": "fox",
        "n": 1,
        "response_format": "b64_json",
        "aspect_ratio": "2:1",
        "resolution": "2k",
        "quality": "low",
    }


def test_edit_bodies_one_image_or_several() -> None:
    x, opts = backend()
    one = build_body(req(), [REF], x.shape(req(), opts), opts)
    assert one["image"] == {"type": "image_url", "url": REF.data_uri()}
    assert "aspect_ratio" not in one and "images" not in one
    x, opts = backend(aspect_ratio="3:2")
    one = build_body(req(), [REF], x.shape(req(), opts), opts)
    assert one["aspect_ratio"] == "3:2"  # explicit wins even for one image
    several = build_body(req(), [REF, REF], x.shape(req(), opts), opts)
    assert len(several["images"]) == 2 and "image" not in several


def test_auto_ratio() -> None:
    x, opts = backend(aspect_ratio="auto")
    assert x.normalize(req(width=640, height=480), opts).size == "640x480"
    assert build_body(req(), [], None, opts)["aspect_ratio"] == "auto"


def test_unmakeable_size_names_the_ratios() -> None:
    x, opts = backend()
    with pytest.raises(ImagenError) as info:
        x.normalize(req(width=1000, height=100), opts)
    assert "19.5:9" in info.value.detail and info.value.code == ErrorCode.BAD_REQUEST


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"data": []}, ErrorCode.NO_IMAGE),
        ({"data": [{"respect_moderation": False, "url": "https://x/y.jpg"}]},
         ErrorCode.SAFETY_BLOCKED),
        ({"data": [{"mime_type": "image/jpeg"}]}, ErrorCode.NO_IMAGE),
        ([], ErrorCode.NO_IMAGE),
    ],
)  # fmt: skip
def test_reply_failures(payload: Any, code: ErrorCode) -> None:
    with pytest.raises(ImagenError) as info:
        parse_reply(payload, "x")
    assert info.value.code == code


def test_reply_item() -> None:
    item = {"b64_json": "AAAA", "respect_moderation": True}
    assert parse_reply({"data": [item]}, "x") is item


def response(status: int, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    sent = httpx.Request("POST", "https://api.x.ai/v1/images/generations")
    return httpx.Response(status, json=body, headers=headers, request=sent)


def test_errors_in_xai_shape() -> None:
    bad_key = response(400, {"code": "Client specified an invalid argument",
                             "error": "Incorrect API key provided: xa***ab. Get one."})  # fmt: skip
    err = error_for(bad_key, "xai-abcdefab")
    assert err.code == ErrorCode.AUTH_FAILED and "***" in err.detail and "xa***ab" not in err.detail
    moderated = response(
        400, {"code": "x", "error": "Generated image rejected by content moderation."}
    )
    assert error_for(moderated).code == ErrorCode.SAFETY_BLOCKED
    limited = response(429, {"code": "x", "error": "slow down"}, {"Retry-After": "7"})
    err = error_for(limited)
    assert err.code == ErrorCode.RATE_LIMITED and err.retry_after == 7.0
    echoed = response(400, {"code": "x", "error": "bad prompt for key xai-abcdefab"})
    assert "xai-abcdefab" not in error_for(echoed, "xai-abcdefab").detail


def test_cost_and_warnings() -> None:
    x, opts = backend()
    assert x.estimate_cost(req(), opts) == 0.02 and x.warnings(req(), opts) == []
    x, opts = backend(model="grok-imagine-image-2.0", quality="low")
    assert x.estimate_cost(req(), opts) == 0.07 and x.warnings(req(), opts) == []
    x, opts = backend(model="grok-2-image-1212", quality="low")
    notes = x.warnings(req(), opts)
    assert x.estimate_cost(req(), opts) is None and len(notes) == 2
    assert "gone from xAI's model list" in notes[0] and "quality is documented" in notes[1]
