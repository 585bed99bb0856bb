"""The gemini backend through the real Engine against a fake Gemini API on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from imagen_tui.backends.errors import ErrorCode, RequestError
from imagen_tui.backends.events import EventKind
from imagen_tui.backends.models import GenerationRequest, JobState
from tests.fakes.gemini import FakeGemini, png
from tests.fakes.server import FakeServer, running
from tests.protocol.cloud_harness import Rig, engine_for, files_under, run

KEY = "gm-secret-key-0000"
ENV = {"GEMINI_API_KEY": KEY}


def rig(tmp_path: Path, server: FakeServer, **options: Any) -> Rig:
    return engine_for(tmp_path, "gemini", {"base_url": server.url + "/v1", **options}, env=ENV)


@pytest.fixture
def gemini(fake_server: FakeServer) -> FakeGemini:
    return FakeGemini(fake_server, key=KEY)


def request(**changes: Any) -> GenerationRequest:
    return GenerationRequest(prompt="a red fox in snow", **changes)


def test_success_streams_sends_the_real_protocol_and_saves_cost_and_usage(
    tmp_path: Path, fake_server: FakeServer, gemini: FakeGemini
) -> None:
    gemini.then(gemini.image(text="Here is your fox."))
    out = asyncio.run(run(rig(tmp_path, fake_server), request(width=1368, height=768, seed=7)))
    assert out.job.state == JobState.DONE, out.job.error_message
    (sent,) = fake_server.requests
    assert sent.path == "/v1/models/gemini-3.1-flash-image:streamGenerateContent"
    assert sent.query == {"alt": "sse"} and sent.headers["x-goog-api-key"] == KEY
    body = sent.json()
    assert body["contents"] == [{"role": "user", "parts": [{"text": "a red fox in snow"}]}]
    config = body["generationConfig"]
    assert config["imageConfig"] == {"aspectRatio": "16:9", "imageSize": "1K"}
    assert config["responseModalities"] == ["IMAGE"] and config["seed"] == 7
    sidecar = json.loads(Path(out.job.sidecar_path or "").read_text())
    assert out.job.cost_usd == pytest.approx(0.067)
    assert json.dumps(sidecar).count("0.067") >= 1
    text = json.dumps(sidecar)
    assert "candidatesTokenCount" in text and "Here is your fox." in text
    saved = Path(out.job.output_path or "")
    assert saved.read_bytes()[:4] == b"\x89PNG"


def test_non_streaming_mode_uses_generate_content(
    tmp_path: Path, fake_server: FakeServer, gemini: FakeGemini
) -> None:
    gemini.then(gemini.image())
    out = asyncio.run(run(rig(tmp_path, fake_server, stream=False), request()))
    assert out.job.state == JobState.DONE, out.job.error_message
    assert fake_server.requests[0].path.endswith(":generateContent")


def test_progress_and_draft_previews_from_thought_parts(
    tmp_path: Path, fake_server: FakeServer, gemini: FakeGemini
) -> None:
    gemini.then(gemini.image(drafts=2))
    out = asyncio.run(run(rig(tmp_path, fake_server, include_thoughts=True), request()))
    assert out.job.state == JobState.DONE, out.job.error_message
    assert fake_server.requests[0].json()["generationConfig"]["thinkingConfig"] == {
        "includeThoughts": True
    }
    fractions = [e.job.progress for e in out.of(EventKind.PROGRESS)]
    assert fractions == sorted(fractions) and len(fractions) >= 4
    messages = [e.job.message for e in out.of(EventKind.PROGRESS)]
    assert "thinking" in messages and "draft image 2" in messages
    previews = out.of(EventKind.PREVIEW)
    assert len(previews) == 2 and all((p.preview or b"")[:4] == b"\x89PNG" for p in previews)


def test_429_with_retry_delay_then_success(
    tmp_path: Path, fake_server: FakeServer, gemini: FakeGemini
) -> None:
    retry = {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "0.2s"}
    gemini.then(
        gemini.error(429, "RESOURCE_EXHAUSTED", "Quota exceeded", headers={"Retry-After": "0.3"}),
        gemini.error(429, "RESOURCE_EXHAUSTED", "Quota exceeded", details=[retry]),
        gemini.image(),
    )
    out = asyncio.run(run(rig(tmp_path, fake_server), request()))
    assert out.job.state == JobState.DONE and out.job.attempts == 3
    waits = [e.job.message for e in out.of(EventKind.RETRYING)]
    assert waits == ["rate_limited; retry 1/3 in 0.3s", "rate_limited; retry 2/3 in 0.2s"]


def test_500_twice_then_success(
    tmp_path: Path, fake_server: FakeServer, gemini: FakeGemini
) -> None:
    boom = gemini.error(500, "INTERNAL", "An internal error has occurred.")
    gemini.then(boom, gemini.error(503, "UNAVAILABLE", "The model is overloaded."), gemini.image())
    out = asyncio.run(run(rig(tmp_path, fake_server), request()))
    assert out.job.state == JobState.DONE and out.job.attempts == 3
    assert len(fake_server.requests) == 3


def test_400_fails_at_once_with_the_providers_message(
    tmp_path: Path, fake_server: FakeServer, gemini: FakeGemini
) -> None:
    gemini.then(gemini.error(400, "INVALID_ARGUMENT", "Image size 4K is not supported here"))
    out = asyncio.run(run(rig(tmp_path, fake_server), request()))
    assert out.job.state == JobState.FAILED and out.job.error_code == ErrorCode.BAD_REQUEST
    assert "Image size 4K is not supported here" in (out.job.error_message or "")
    assert len(fake_server.requests) == 1


def test_wrong_key_is_auth_failed(tmp_path: Path, fake_server: FakeServer) -> None:
    FakeGemini(fake_server, key="another-key").then(FakeGemini(fake_server).image())
    out = asyncio.run(run(rig(tmp_path, fake_server), request()))
    assert out.job.error_code == ErrorCode.AUTH_FAILED and len(fake_server.requests) == 1


@pytest.mark.parametrize(
    ("behaviour", "words"),
    [
        (lambda g: g.blocked_prompt("PROHIBITED_CONTENT"), "prompt blocked: PROHIBITED_CONTENT"),
        (lambda g: g.finish("IMAGE_SAFETY", "I can't draw that."), "IMAGE_SAFETY"),
    ],
)
def test_safety_blocks_arrive_as_200_and_become_safety_blocked(
    tmp_path: Path, fake_server: FakeServer, gemini: FakeGemini, behaviour: Any, words: str
) -> None:
    gemini.then(behaviour(gemini))
    out = asyncio.run(run(rig(tmp_path, fake_server), request()))
    assert out.job.state == JobState.FAILED
    assert out.job.error_code == ErrorCode.SAFETY_BLOCKED and words in (out.job.error_message or "")
    assert len(fake_server.requests) == 1 and not (tmp_path / "out").exists()


def test_text_only_reply_is_no_image_and_quotes_the_model(
    tmp_path: Path, fake_server: FakeServer, gemini: FakeGemini
) -> None:
    gemini.then(gemini.finish("STOP", "Sure!\x1b]0;pwned\x07 What style?"))
    out = asyncio.run(run(rig(tmp_path, fake_server), request()))
    assert out.job.error_code == ErrorCode.NO_IMAGE
    message = out.job.error_message or ""
    assert "What style?" in message and "\x1b" not in message and "\x07" not in message


@pytest.mark.parametrize(
    "payload", [png(64, 64)[:-30], b"<html>not an image</html>"], ids=["truncated", "html"]
)
def test_truncated_or_non_image_payload_is_no_image_and_writes_nothing(
    tmp_path: Path, fake_server: FakeServer, gemini: FakeGemini, payload: bytes
) -> None:
    gemini.then(gemini.inline(payload))
    out = asyncio.run(run(rig(tmp_path, fake_server), request()))
    assert out.job.state == JobState.FAILED and out.job.error_code == ErrorCode.NO_IMAGE
    assert not (tmp_path / "out").exists() or not files_under(tmp_path / "out")


def test_timeout_fails_the_job(tmp_path: Path, fake_server: FakeServer, gemini: FakeGemini) -> None:
    gemini.then(gemini.hang())
    out = asyncio.run(run(rig(tmp_path, fake_server, timeout_s=0.5), request()))
    assert out.job.state == JobState.FAILED and out.job.error_code == ErrorCode.TIMEOUT


def test_cancel_mid_stream_closes_the_connection(
    tmp_path: Path, fake_server: FakeServer, gemini: FakeGemini
) -> None:
    gemini.then(gemini.hang())
    engine_rig = rig(tmp_path, fake_server)
    out = asyncio.run(run(engine_rig, request(), cancel_when=lambda e: e.job.message == "thinking"))
    assert out.job.state == JobState.CANCELLED
    assert gemini.disconnected.wait(5), "the server never saw the stream closed"
    assert not (tmp_path / "out").exists() or not files_under(tmp_path / "out")


def test_reference_images_travel_as_inline_data(
    tmp_path: Path, fake_server: FakeServer, gemini: FakeGemini
) -> None:
    ref = tmp_path / "cat.bin"  # the name says nothing: the type comes from the bytes
    ref.write_bytes(png(32, 48))
    gemini.then(gemini.image())
    opts = {"aspect_ratio": "auto"}
    out = asyncio.run(run(rig(tmp_path, fake_server, **opts), request(references=(ref,))))
    assert out.job.state == JobState.DONE, out.job.error_message
    body = fake_server.requests[0].json()
    parts = body["contents"][0]["parts"]
    assert parts[1]["inlineData"]["mimeType"] == "image/png"
    assert "imageConfig" not in body["generationConfig"]  # auto: follow the reference


def test_bad_input_is_refused_before_anything_is_sent(
    tmp_path: Path, fake_server: FakeServer, gemini: FakeGemini
) -> None:
    gemini.then(gemini.image())
    engine = rig(tmp_path, fake_server).engine
    cases = [
        (request(negative="blurry"), "negative"),
        (request(width=1000, height=300), "allowed aspect ratios: 1:1"),
        (request(steps=20), "steps"),
        (request(options={"image_size": "8K"}), "options.image_size"),
        (request(options={"quality": "high"}), "it accepts: "),
    ]
    for bad, words in cases:
        prepared = engine.prepare(bad)
        assert not prepared.ok
        assert any(words in f"{p.field}: {p.message}" for p in prepared.problems), prepared
        with pytest.raises(RequestError):
            engine.submit(prepared)
    old = engine.prepare(request(options={"model": "gemini-2.5-flash-image", "image_size": "2K"}))
    assert any("allowed: 1K" in p.message for p in old.problems)
    assert fake_server.requests == []


def test_retired_model_warns_but_is_sent(tmp_path: Path, fake_server: FakeServer) -> None:
    fake = FakeGemini(fake_server, key=KEY, model="gemini-3-pro-image-preview")
    fake.then(fake.image())
    engine_rig = rig(tmp_path, fake_server, model="gemini-3-pro-image-preview")
    prepared = engine_rig.engine.prepare(request(width=2048, height=2048))
    assert prepared.warnings and "shut down on 2026-06-25" in prepared.warnings[0]
    assert prepared.cost_usd == pytest.approx(0.134)
    out = asyncio.run(run(engine_rig, request(width=2048, height=2048)))
    assert out.job.state == JobState.DONE, out.job.error_message
    assert fake_server.requests[0].json()["generationConfig"]["imageConfig"]["imageSize"] == "2K"


def test_unreachable_server_names_the_url(tmp_path: Path) -> None:
    with running() as server:
        url = server.url
    engine_rig = engine_for(tmp_path, "gemini", {"base_url": url + "/v1"}, env=ENV, retries=0)
    out = asyncio.run(run(engine_rig, request()))
    assert out.job.error_code == ErrorCode.UNAVAILABLE
    assert f"{url}/v1/models/gemini-3.1-flash-image" in (out.job.error_message or "")
