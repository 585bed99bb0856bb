"""The xai backend through the real Engine against a fake xAI images API on 127.0.0.1."""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path
from typing import Any

import pytest

from imagen_tui.backends.errors import ErrorCode, RequestError
from imagen_tui.backends.events import EventKind
from imagen_tui.backends.models import GenerationRequest, JobState
from tests.fakes.server import FakeServer, running
from tests.fakes.xai import FakeXai, jpeg
from tests.protocol.cloud_harness import Rig, engine_for, files_under, run

KEY = "xai-secret-key-1111"
ENV = {"XAI_API_KEY": KEY}


def rig(tmp_path: Path, server: FakeServer, **options: Any) -> Rig:
    return engine_for(tmp_path, "xai", {"base_url": server.url + "/v1", **options}, env=ENV)


@pytest.fixture
def xai(fake_server: FakeServer) -> FakeXai:
    return FakeXai(fake_server, key=KEY)


def request(**changes: Any) -> GenerationRequest:
    return GenerationRequest(prompt="a red fox in snow", **changes)


def nothing_saved(tmp_path: Path) -> bool:
    return not (tmp_path / "out").exists() or not files_under(tmp_path / "out")


def test_generation_sends_xai_fields_and_saves_the_jpeg_with_cost(
    tmp_path: Path, fake_server: FakeServer, xai: FakeXai
) -> None:
    xai.then(xai.image(revised="A red fox standing in fresh snow."))
    out = asyncio.run(run(rig(tmp_path, fake_server), request(width=1368, height=768)))
    assert out.job.state == JobState.DONE, out.job.error_message
    (sent,) = fake_server.requests
    assert sent.path == "/v1/images/generations"
    assert sent.headers["Authorization"] == f"Bearer {KEY}"
    assert sent.headers["Content-Type"].startswith("application/json")
    assert sent.json() == {
        "model": "grok-imagine-image",
        "prompt": "a red fox in snow",
        "n": 1,
        "response_format": "b64_json",
        "aspect_ratio": "16:9",
        "resolution": "1k",
    }
    saved = Path(out.job.output_path or "")
    assert saved.suffix == ".jpg" and saved.read_bytes()[:3] == b"\xff\xd8\xff"
    sidecar = json.loads(Path(out.job.sidecar_path or "").read_text())
    assert out.job.cost_usd == pytest.approx(0.02)
    assert "A red fox standing in fresh snow." in json.dumps(sidecar)


def test_url_results_are_downloaded_without_the_key(
    tmp_path: Path, fake_server: FakeServer, xai: FakeXai
) -> None:
    xai.then(xai.image())
    out = asyncio.run(run(rig(tmp_path, fake_server, response_format="url"), request()))
    assert out.job.state == JobState.DONE, out.job.error_message
    (download,) = fake_server.requests_to("GET", "/files/out-1.jpg")
    assert "Authorization" not in download.headers
    messages = [e.job.message for e in out.of(EventKind.PROGRESS)]
    assert messages == ["sent to xai", "downloading"]


def test_references_make_a_json_edit_with_data_uris(
    tmp_path: Path, fake_server: FakeServer, xai: FakeXai
) -> None:
    one, two = tmp_path / "a.png", tmp_path / "b.jpg"
    one.write_bytes(jpeg(20, 20))  # a JPEG named .png: the bytes decide
    two.write_bytes(jpeg(30, 20))
    xai.then(xai.image())
    out = asyncio.run(run(rig(tmp_path, fake_server), request(references=(one,))))
    assert out.job.state == JobState.DONE, out.job.error_message
    body = fake_server.requests_to("POST", "/v1/images/edits")[0].json()
    assert body["image"]["type"] == "image_url"
    head, _, data = body["image"]["url"].partition(",")
    assert head == "data:image/jpeg;base64" and base64.b64decode(data) == one.read_bytes()
    assert "aspect_ratio" not in body  # one-image edits keep the input's ratio
    out = asyncio.run(run(rig(tmp_path, fake_server), request(references=(one, two))))
    assert out.job.state == JobState.DONE, out.job.error_message
    body = fake_server.requests_to("POST", "/v1/images/edits")[1].json()
    assert len(body["images"]) == 2 and "image" not in body and body["aspect_ratio"] == "1:1"


def test_429_with_retry_after_then_success(
    tmp_path: Path, fake_server: FakeServer, xai: FakeXai
) -> None:
    limited = xai.error(429, "Too many requests", headers={"Retry-After": "0.3"})
    xai.then(limited, xai.image())
    out = asyncio.run(run(rig(tmp_path, fake_server), request()))
    assert out.job.state == JobState.DONE and out.job.attempts == 2
    assert [e.job.message for e in out.of(EventKind.RETRYING)] == [
        "rate_limited; retry 1/3 in 0.3s"
    ]


def test_500_twice_then_success(tmp_path: Path, fake_server: FakeServer, xai: FakeXai) -> None:
    xai.then(xai.error(500, "boom"), xai.error(502, "bad gateway"), xai.image())
    out = asyncio.run(run(rig(tmp_path, fake_server), request()))
    assert out.job.state == JobState.DONE and out.job.attempts == 3
    assert len(fake_server.requests) == 3


def test_400_fails_at_once_with_the_providers_message(
    tmp_path: Path, fake_server: FakeServer, xai: FakeXai
) -> None:
    xai.then(xai.error(400, "Prompt too long", code="Client specified an invalid argument"))
    out = asyncio.run(run(rig(tmp_path, fake_server), request()))
    assert out.job.error_code == ErrorCode.BAD_REQUEST
    assert "Prompt too long" in (out.job.error_message or "") and len(fake_server.requests) == 1


def test_wrong_key_is_auth_failed_and_no_key_fragment_is_quoted(
    tmp_path: Path, fake_server: FakeServer
) -> None:
    FakeXai(fake_server, key="the-right-key").then(FakeXai(fake_server).image())
    out = asyncio.run(run(rig(tmp_path, fake_server), request()))
    assert out.job.error_code == ErrorCode.AUTH_FAILED
    message = out.job.error_message or ""
    assert "Incorrect API key" in message and "xa***11" not in message and KEY not in message


@pytest.mark.parametrize(
    ("behaviour", "code"),
    [
        (lambda x: x.moderated(), ErrorCode.SAFETY_BLOCKED),
        (lambda x: x.error(400, "Generated image rejected by content moderation."),
         ErrorCode.SAFETY_BLOCKED),
        (lambda x: x.empty(), ErrorCode.NO_IMAGE),
    ],
    ids=["respect_moderation", "400-moderation", "empty-data"],
)  # fmt: skip
def test_moderation_is_safety_blocked_and_nothing_is_saved(
    tmp_path: Path, fake_server: FakeServer, xai: FakeXai, behaviour: Any, code: ErrorCode
) -> None:
    xai.then(behaviour(xai))
    out = asyncio.run(run(rig(tmp_path, fake_server), request()))
    assert out.job.state == JobState.FAILED and out.job.error_code == code
    assert len(fake_server.requests) == 1 and nothing_saved(tmp_path)


@pytest.mark.parametrize(
    "item",
    [
        {"b64_json": base64.b64encode(jpeg(64, 64)[:-40]).decode()},
        {"b64_json": base64.b64encode(b"<html>rate limit page</html>").decode()},
        {"b64_json": "not base64 at all!"},
        {"url": "ftp://example.invalid/x.jpg"},
    ],
    ids=["truncated", "html", "bad-base64", "bad-url"],
)
def test_truncated_or_non_image_payload_is_no_image(
    tmp_path: Path, fake_server: FakeServer, xai: FakeXai, item: dict[str, str]
) -> None:
    xai.then(xai.item(item))
    out = asyncio.run(run(rig(tmp_path, fake_server), request()))
    assert out.job.error_code == ErrorCode.NO_IMAGE and nothing_saved(tmp_path)


def test_timeout_fails_the_job(tmp_path: Path, fake_server: FakeServer, xai: FakeXai) -> None:
    xai.then(xai.hang())
    out = asyncio.run(run(rig(tmp_path, fake_server, timeout_s=0.5), request()))
    assert out.job.error_code == ErrorCode.TIMEOUT


def test_cancel_mid_request_closes_the_connection(
    tmp_path: Path, fake_server: FakeServer, xai: FakeXai
) -> None:
    xai.then(xai.hang())
    cancel = lambda e: e.job.message == "sent to xai"  # noqa: E731
    out = asyncio.run(
        run(rig(tmp_path, fake_server), request(), cancel_when=cancel, cancel_after=xai.hanging)
    )
    assert out.job.state == JobState.CANCELLED
    assert xai.disconnected.wait(5), "the server never saw the request dropped"
    assert nothing_saved(tmp_path)


def test_bad_input_is_refused_before_anything_is_sent(
    tmp_path: Path, fake_server: FakeServer, xai: FakeXai
) -> None:
    xai.then(xai.image())
    engine = rig(tmp_path, fake_server).engine
    refs = tuple(tmp_path / f"r{i}.jpg" for i in range(6))
    cases = [
        (request(negative="blurry"), "negative"),
        (request(seed=5), "seed"),
        (request(width=1000, height=300), "allowed aspect ratios: 1:1, 3:4"),
        (request(options={"resolution": "4k"}), "options.resolution"),
        (request(options={"size": "1024x1024"}), "it accepts: "),
        (request(references=refs), "at most 5 reference images"),
    ]
    for bad, words in cases:
        prepared = engine.prepare(bad)
        assert any(words in f"{p.field}: {p.message}" for p in prepared.problems), prepared
        with pytest.raises(RequestError):
            engine.submit(prepared)
    assert fake_server.requests == []


def test_retired_model_and_misplaced_quality_warn_but_are_sent(
    tmp_path: Path, fake_server: FakeServer, xai: FakeXai
) -> None:
    xai.then(xai.image())
    engine_rig = rig(tmp_path, fake_server, model="grok-imagine-image-pro", quality="low")
    prepared = engine_rig.engine.prepare(request())
    assert len(prepared.warnings) == 2 and "2026-05-15" in prepared.warnings[0]
    assert prepared.cost_usd is None  # no price known for it
    out = asyncio.run(run(engine_rig, request()))
    assert out.job.state == JobState.DONE, out.job.error_message
    assert fake_server.requests[0].json()["model"] == "grok-imagine-image-pro"


def test_unreachable_server_names_the_url(tmp_path: Path) -> None:
    with running() as server:
        url = server.url
    engine_rig = engine_for(tmp_path, "xai", {"base_url": url + "/v1"}, env=ENV, retries=0)
    out = asyncio.run(run(engine_rig, request()))
    assert out.job.error_code == ErrorCode.UNAVAILABLE
    assert f"{url}/v1/images/generations" in (out.job.error_message or "")
