"""The gemini adapter's pure parts: sizes, request body, reply parsing, cost, warnings."""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from imagen_tui.backends.adapters.gemini import (
    GeminiBackend,
    GeminiOptions,
    GeminiReply,
    auth_headers,
    build_body,
    endpoint,
)
from imagen_tui.backends.adapters.inline_images import InlineImage
from imagen_tui.backends.base import Capability
from imagen_tui.backends.errors import ErrorCode, ImagenError
from imagen_tui.backends.models import GenerationRequest


def png_b64(size: tuple[int, int] = (8, 8)) -> str:
    buf = io.BytesIO()
    Image.new("RGB", size).save(buf, "PNG")
    return base64.b64encode(buf.getvalue()).decode()


def backend(**options: Any) -> tuple[GeminiBackend, GeminiOptions]:
    opts = GeminiOptions(**options)
    return GeminiBackend("g", opts, env={"GEMINI_API_KEY": "k"}), opts


def req(**changes: Any) -> GenerationRequest:
    return GenerationRequest(prompt="fox", **changes)


def test_declaration_is_honest() -> None:
    caps = GeminiBackend.capabilities
    assert Capability.NEGATIVE not in caps and Capability.STEPS not in caps
    assert Capability.CANCEL not in caps and Capability.RESUME not in caps
    assert {Capability.REFERENCES, Capability.PROGRESS, Capability.PREVIEW} <= caps
    assert "1024x1024" in GeminiBackend.sizes and GeminiBackend.needs_http
    assert GeminiOptions().api_key_env == "GEMINI_API_KEY"


@pytest.mark.parametrize(
    ("size", "model", "expected"),
    [
        ((1024, 1024), None, "1024x1024"),
        ((1920, 1080), None, "1368x768"),
        ((2048, 2048), None, "2048x2048"),
        ((512, 512), None, "512x512"),
        ((512, 512), "gemini-3-pro-image", "1024x1024"),  # no 512 tier: the nearest it has
        ((4000, 1000), "some-new-gateway-model", "4096x1024"),  # unknown: every ratio
    ],
)
def test_sizes_map_to_the_nominal_size_of_ratio_and_tier(size, model, expected) -> None:
    g, opts = backend(**({"model": model} if model else {}))
    assert g.normalize(req(width=size[0], height=size[1]), opts).size == expected


def test_sizes_a_model_cannot_make_are_refused_naming_the_allowed() -> None:
    g, opts = backend(model="gemini-2.5-flash-image", image_size="4K")
    with pytest.raises(ImagenError) as info:
        g.normalize(req(), opts)
    assert info.value.code == ErrorCode.BAD_REQUEST and "allowed: 1K" in info.value.detail
    g, opts = backend(model="gemini-3-pro-image", aspect_ratio="8:1")
    with pytest.raises(ImagenError) as info:
        g.normalize(req(), opts)
    assert "no aspect ratio 8:1; allowed: 1:1, 2:3" in info.value.detail
    g, opts = backend()
    with pytest.raises(ImagenError) as info:
        g.normalize(req(references=tuple(Path(f"r{i}") for i in range(15))), opts)
    assert "at most 14" in info.value.detail


def test_auto_ratio_keeps_the_request_size() -> None:
    g, opts = backend(aspect_ratio="auto")
    assert g.normalize(req(width=640, height=480), opts).size == "640x480"
    assert g.shape(req(), opts) is None


def test_body_is_camel_case_with_image_config_seed_and_thinking() -> None:
    g, opts = backend(thinking_level="HIGH", include_thoughts=True)
    ref = InlineImage("image/webp", b"RIFF....WEBP")
    request = req(width=1368, height=768, seed=2**32 - 1)
    body = build_body(request, [ref], g.shape(request, opts), opts)
    assert body["contents"][0]["parts"] == [
        {"text": "fox"},
        {"inlineData": {"mimeType": "image/webp", "data": ref.base64()}},
    ]
    config = body["generationConfig"]
    assert config["imageConfig"] == {"aspectRatio": "16:9", "imageSize": "1K"}
    assert config["seed"] == (2**32 - 1) % 2**31  # an int32 on the wire
    assert config["thinkingConfig"] == {"thinkingLevel": "HIGH", "includeThoughts": True}
    assert config["responseModalities"] == ["IMAGE"] and config["candidateCount"] == 1


def test_auto_ratio_with_a_tier_sends_only_the_tier() -> None:
    g, opts = backend(aspect_ratio="auto", image_size="2K")
    body = build_body(req(), [], g.shape(req(), opts), opts)
    assert body["generationConfig"]["imageConfig"] == {"imageSize": "2K"}


def test_endpoint_and_headers() -> None:
    assert (
        endpoint("https://h/v1/", "models/gemini-3-pro-image", stream=True)
        == "https://h/v1/models/gemini-3-pro-image:streamGenerateContent?alt=sse"
    )
    assert (
        endpoint("https://h/v1", "a b/c", stream=False)
        == "https://h/v1/models/a%20b%2Fc:generateContent"
    )
    assert auth_headers("k") == {"Content-Type": "application/json", "x-goog-api-key": "k"}
    assert auth_headers(None) == {"Content-Type": "application/json"}


def candidate(parts: list[Any], finish: str | None = None) -> dict[str, Any]:
    c: dict[str, Any] = {"content": {"parts": parts}}
    if finish:
        c["finishReason"] = finish
    return {"candidates": [c]}


def test_reply_takes_the_last_final_image_and_publishes_drafts() -> None:
    reply = GeminiReply("g")
    assert reply.progress() == (0.05, "waiting for gemini")
    assert reply.absorb(candidate([{"text": "plan", "thought": True}])) == []
    assert reply.progress() == (0.2, "thinking")
    drafts = reply.absorb(candidate([{"inlineData": {"data": png_b64(), "mimeType": "image/png"},
                                      "thought": True}]))  # fmt: skip
    assert len(drafts) == 1 and drafts[0][:4] == b"\x89PNG"
    final = png_b64((16, 8))
    reply.absorb(candidate([{"text": "Done."}, {"inline_data": {"data": final}}], "STOP"))
    reply.absorb({"usageMetadata": {"totalTokenCount": 5}, "modelVersion": "m-1"})
    image = reply.image()
    assert image.mime_type == "image/png" and image.data == base64.b64decode(final)
    meta = reply.metadata()
    assert meta["finish_reason"] == "STOP" and meta["usage"] == {"totalTokenCount": 5}
    assert meta["text"] == "Done." and meta["draft_images"] == 1 and meta["model_version"] == "m-1"


@pytest.mark.parametrize(
    ("payloads", "code", "words"),
    [
        ([{"promptFeedback": {"blockReason": "BLOCKLIST", "blockReasonMessage": "no"}}],
         ErrorCode.SAFETY_BLOCKED, "prompt blocked: BLOCKLIST: no"),
        ([candidate([], "SPII")], ErrorCode.SAFETY_BLOCKED, "stopped: SPII"),
        ([candidate([{"text": "What colour?"}], "STOP")], ErrorCode.NO_IMAGE, "What colour?"),
        ([candidate([], "MAX_TOKENS")], ErrorCode.NO_IMAGE, "finish reason MAX_TOKENS"),
        ([candidate([{"text": "thinking", "thought": True}])], ErrorCode.NO_IMAGE, "ended first"),
    ],
)  # fmt: skip
def test_reply_failures(payloads: list[Any], code: ErrorCode, words: str) -> None:
    reply = GeminiReply("g")
    for payload in payloads:
        reply.absorb(payload)
    with pytest.raises(ImagenError) as info:
        reply.image()
    assert info.value.code == code and words in info.value.detail


def test_error_objects_inside_a_stream_are_raised_as_the_taxonomy() -> None:
    reply = GeminiReply("g")
    with pytest.raises(ImagenError) as info:
        reply.absorb({"error": {"code": 503, "message": "overloaded", "status": "UNAVAILABLE"}})
    assert info.value.code == ErrorCode.UNAVAILABLE
    with pytest.raises(ImagenError):
        reply.absorb(["not", "an", "object"])


def test_provider_text_in_metadata_is_made_visible() -> None:
    reply = GeminiReply("g")
    reply.absorb(candidate([{"text": "hi\x1b[2J"}, {"inlineData": {"data": png_b64()}}], "STOP"))
    reply.absorb({"usageMetadata": {"x\x07": "y\x1b"}})
    meta = reply.metadata()
    assert "\x1b" not in repr(meta) and "\x07" not in repr(meta)


def test_cost_per_tier_and_model_and_unknown_models_have_none() -> None:
    g, opts = backend()
    assert g.estimate_cost(req(), opts) == 0.067
    assert g.estimate_cost(req(width=4096, height=4096), opts) == 0.151
    g, opts = backend(model="gemini-3-pro-image", image_size="4K")
    assert g.estimate_cost(req(), opts) == 0.24
    g, opts = backend(model="my-gateway/banana")
    assert g.estimate_cost(req(), opts) is None


def test_retired_models_warn_and_current_ones_do_not() -> None:
    for model, words in [
        ("gemini-3.1-flash-image-preview", "shut down on 2026-06-25"),
        ("imagen-4.0-generate-001", "Imagen models were shut down on 2026-08-17"),
    ]:
        g, opts = backend(model=model)
        (note,) = g.warnings(req(), opts)
        assert words in note
    g, opts = backend()
    assert g.warnings(req(), opts) == []


def test_auto_ratio_still_checks_the_tier_against_the_model() -> None:
    g, opts = backend(model="gemini-2.5-flash-image", aspect_ratio="auto", image_size="2K")
    with pytest.raises(ImagenError) as info:
        g.normalize(req(), opts)
    assert "has no size 2K; allowed: 1K" in info.value.detail


def test_provider_strings_in_errors_are_made_visible() -> None:
    reply = GeminiReply("g")
    reply.absorb({"promptFeedback": {"blockReason": "SAFETY\x1b]0;x\x07"}, "modelVersion": "m\x1b"})
    with pytest.raises(ImagenError) as info:
        reply.image()
    assert "\x1b" not in info.value.detail and "\x07" not in info.value.detail
    assert reply.model_version == "m␛"
