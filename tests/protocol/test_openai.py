"""The `openai` adapter through the real Engine against a fake Images API on 127.0.0.1."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest
from PIL import Image

from imagen_tui.backends.errors import ErrorCode, RequestError
from imagen_tui.backends.events import EventKind
from imagen_tui.backends.models import GenerationRequest, JobState
from tests.fakes.openai import FINAL_PNG, PARTIAL_PNGS, FakeOpenAI, multipart_parts
from tests.fakes.server import FakeServer, running

from .engine_harness import Run, cancel_on_preview, files_under, make_engine, run_job

KEY = "sk-test-openai-0123456789"


def config(fake: FakeOpenAI, **options: object) -> str:
    lines = ["[backends.oa]", 'type = "openai"', f'base_url = "{fake.base_url}"']
    for name, value in options.items():
        lines.append(f"{name} = {value!r}".replace("'", '"'))
    return "\n".join(lines) + "\n"


def run(
    tmp_path: Path,
    fake: FakeOpenAI,
    request: GenerationRequest | None = None,
    *,
    on_event=None,
    retries: int = 3,
    **options: object,
) -> Run:
    engine = make_engine(
        tmp_path, config(fake, **options), {"OPENAI_API_KEY": KEY}, retries=retries
    )
    request = request or GenerationRequest(prompt="a red fox in snow", backend="oa")
    return asyncio.run(run_job(engine, request, on_event))


@pytest.fixture
def fake(fake_server: FakeServer) -> FakeOpenAI:
    return FakeOpenAI(fake_server, KEY)


def test_success_sends_the_documented_request_and_records_usage_and_cost(
    tmp_path: Path, fake: FakeOpenAI
) -> None:
    result = run(tmp_path, fake, partial_images=0, quality="medium", background="opaque")
    assert result.job.state is JobState.DONE, result.job.error_message
    (call,) = fake.calls()
    assert call.headers["Authorization"] == f"Bearer {KEY}"
    assert call.json() == {
        "model": "gpt-image-2",
        "prompt": "a red fox in snow",
        "n": 1,
        "size": "1024x1024",
        "quality": "medium",
        "output_format": "png",
        "background": "opaque",
    }
    assert Path(result.job.output_path or "").read_bytes()[:8] == FINAL_PNG[:8]
    meta = result.sidecar()
    assert meta["model"] == "gpt-image-2"
    assert meta["provider"]["usage"]["output_tokens"] == 1056
    assert meta["provider"]["endpoint"] == "images/generations"
    assert meta["provider"]["request_id"] == "req_fake"
    # usage × gpt-image-2 rates: 40 text × $5 + 10 image × $8 + 1056 out × $30, per 1M tokens
    assert meta["cost_usd"] == pytest.approx((40 * 5 + 10 * 8 + 1056 * 30) / 1e6)
    assert fake.problems == []


def test_partial_images_stream_as_previews_and_progress(tmp_path: Path, fake: FakeOpenAI) -> None:
    result = run(tmp_path, fake, partial_images=2)
    assert result.job.state is JobState.DONE, result.job.error_message
    (call,) = fake.calls()
    assert call.json()["stream"] is True and call.json()["partial_images"] == 2
    assert call.headers["Accept"] == "text/event-stream"
    assert result.previews() == list(PARTIAL_PNGS[:2])
    fractions = [e.job.progress for e in result.events if e.kind is EventKind.PROGRESS]
    assert fractions == sorted(fractions) and 0 < fractions[-2] < 1
    saved = Path(result.job.output_path or "")
    with Image.open(saved) as im:  # the final image, not the last partial
        assert im.getpixel((0, 0))[:3] == (200, 80, 40)


def test_429_with_retry_after_then_success(tmp_path: Path, fake: FakeOpenAI) -> None:
    fake.script = ["rate_limited", "ok"]
    result = run(tmp_path, fake, partial_images=0)
    assert result.job.state is JobState.DONE and result.job.attempts == 2
    (retrying,) = [e for e in result.events if e.kind is EventKind.RETRYING]
    assert "rate_limited" in retrying.job.message and "in 1.0s" in retrying.job.message
    assert len(fake.calls()) == 2


def test_429_out_of_quota_is_final(tmp_path: Path, fake: FakeOpenAI) -> None:
    fake.script = ["quota"]
    result = run(tmp_path, fake)
    assert result.job.error_code == ErrorCode.QUOTA_EXHAUSTED
    assert "exceeded your current quota" in (result.job.error_message or "")
    assert len(fake.calls()) == 1


def test_500_twice_then_success(tmp_path: Path, fake: FakeOpenAI) -> None:
    fake.script = ["server_error", "server_error", "ok"]
    result = run(tmp_path, fake)
    assert result.job.state is JobState.DONE and result.job.attempts == 3
    assert len(fake.calls()) == 3


def test_400_is_final_with_the_providers_message(tmp_path: Path, fake: FakeOpenAI) -> None:
    fake.script = ["bad_request"]
    result = run(tmp_path, fake, model="some-gateway-model")
    assert result.job.state is JobState.FAILED and result.job.error_code == ErrorCode.BAD_REQUEST
    assert "Invalid value: '1024x1024'" in (result.job.error_message or "")
    assert "[request req_fake]" in (result.job.error_message or "")
    assert len(fake.calls()) == 1


def test_wrong_key_is_auth_failed_and_not_retried(tmp_path: Path, fake: FakeOpenAI) -> None:
    fake.key = "sk-the-right-one"
    result = run(tmp_path, fake)
    assert result.job.state is JobState.FAILED and result.job.error_code == ErrorCode.AUTH_FAILED
    assert "Incorrect API key provided" in (result.job.error_message or "")
    assert len(fake.calls()) == 1


def test_safety_block_is_final(tmp_path: Path, fake: FakeOpenAI) -> None:
    fake.script = ["safety"]
    result = run(tmp_path, fake)
    assert result.job.state is JobState.FAILED
    assert result.job.error_code == ErrorCode.SAFETY_BLOCKED
    assert "rejected by the safety system" in (result.job.error_message or "")
    assert len(fake.calls()) == 1


def test_timeout(tmp_path: Path, fake: FakeOpenAI) -> None:
    fake.script = ["hang"]
    result = run(tmp_path, fake, timeout_s=0.5, partial_images=0)
    assert result.job.state is JobState.FAILED and result.job.error_code == ErrorCode.TIMEOUT
    assert files_under(tmp_path / "out") == []


@pytest.mark.parametrize("mode", ["truncated", "not_image"])
@pytest.mark.parametrize("partials", [0, 2])
def test_broken_payload_is_no_image_and_writes_nothing(
    tmp_path: Path, fake: FakeOpenAI, mode: str, partials: int
) -> None:
    fake.script = [mode]
    result = run(tmp_path, fake, partial_images=partials)
    assert result.job.state is JobState.FAILED and result.job.error_code == ErrorCode.NO_IMAGE
    assert files_under(tmp_path / "out") == []
    assert len(fake.calls()) == 1  # not retried: the provider answered


def test_cancel_mid_stream_closes_the_connection(tmp_path: Path, fake: FakeOpenAI) -> None:
    fake.script = ["hold"]
    result = run(tmp_path, fake, on_event=cancel_on_preview, partial_images=2)
    assert result.job.state is JobState.CANCELLED
    assert fake.disconnected.wait(10), "the provider never saw the client leave"
    assert files_under(tmp_path / "out") == []


def test_edit_sends_references_and_mask_as_multipart(tmp_path: Path, fake: FakeOpenAI) -> None:
    refs = [_image(tmp_path / "a.png", "PNG"), _image(tmp_path / "b.jpg", "JPEG")]
    mask = _image(tmp_path / "mask.png", "PNG")
    request = GenerationRequest(
        prompt="make it night", backend="oa", references=tuple(refs), width=1536, height=1024
    )
    result = run(
        tmp_path,
        fake,
        request,
        mask=str(mask),
        input_fidelity="low",
        model="gpt-image-1.5",
        partial_images=1,
    )
    assert result.job.state is JobState.DONE, result.job.error_message
    (call,) = fake.calls("edits")
    parts = multipart_parts(call.headers["Content-Type"], call.body)
    files = [(n, f, t) for n, f, t, _ in parts if f is not None]
    assert files == [
        ("image[]", "a.png", "image/png"),
        ("image[]", "b.jpg", "image/jpeg"),
        ("mask", "mask.png", "image/png"),
    ]
    fields = {n: d.decode() for n, f, _, d in parts if f is None}
    assert fields["model"] == "gpt-image-1.5" and fields["prompt"] == "make it night"
    assert fields["size"] == "1536x1024" and fields["input_fidelity"] == "low"
    assert fields["stream"] == "true" and fields["partial_images"] == "1"
    assert result.previews() == [PARTIAL_PNGS[0]]
    assert result.sidecar()["provider"]["endpoint"] == "images/edits"


def test_one_reference_is_sent_as_image(tmp_path: Path, fake: FakeOpenAI) -> None:
    ref = _image(tmp_path / "r.webp", "WEBP")
    request = GenerationRequest(prompt="edit", backend="oa", references=(ref,))
    result = run(tmp_path, fake, request, partial_images=0)
    assert result.job.state is JobState.DONE, result.job.error_message
    (call,) = fake.calls("edits")
    parts = multipart_parts(call.headers["Content-Type"], call.body)
    assert [(n, t) for n, f, t, _ in parts if f] == [("image", "image/webp")]


def test_unreachable_server_names_the_url(tmp_path: Path) -> None:
    with running() as server:
        dead = FakeOpenAI(server, KEY)
    result = run(tmp_path, dead, retries=1)
    assert result.job.state is JobState.FAILED and result.job.error_code == ErrorCode.UNAVAILABLE
    assert f"{dead.base_url}/images/generations" in (result.job.error_message or "")


@pytest.mark.parametrize(
    ("request_changes", "options", "field", "says"),
    [
        ({"negative": "blurry"}, {}, "negative", "takes no negative prompt"),
        ({"seed": 5}, {}, "seed", "takes no seed"),
        ({"width": 1000, "height": 3100}, {}, "size", "ratio at most 3:1"),
        (
            {"width": 1024, "height": 576},
            {"model": "gpt-image-1.5"},
            "size",
            "allowed: 1024x1024, 1536x1024, 1024x1536",
        ),
        ({}, {"mask": "m.png"}, "size", "a mask applies to edits"),
    ],
)
def test_bad_input_is_refused_before_sending(
    tmp_path: Path, fake: FakeOpenAI, request_changes: dict, options: dict, field: str, says: str
) -> None:
    engine = make_engine(tmp_path, config(fake, **options), {"OPENAI_API_KEY": KEY})
    request = GenerationRequest(prompt="fox", backend="oa").replace(**request_changes)
    prepared = engine.prepare(request)
    assert [p.field for p in prepared.problems] == [field]
    assert says in prepared.problems[0].message
    assert fake.server.requests == []


def test_option_the_model_refuses_is_named(tmp_path: Path, fake: FakeOpenAI) -> None:
    engine = make_engine(tmp_path, config(fake), {"OPENAI_API_KEY": KEY})
    prepared = engine.prepare(
        GenerationRequest(prompt="fox", backend="oa", options={"quality": "xhigh"})
    )
    with pytest.raises(RequestError) as info:
        prepared.raise_for_problems()
    assert "quality=xhigh; allowed: auto, high, low, medium" in info.value.message
    assert fake.server.requests == []


def test_retired_model_is_warned_about_and_still_sent(tmp_path: Path, fake: FakeOpenAI) -> None:
    result = run(tmp_path, fake, model="gpt-image-1", partial_images=0)
    assert any("shut down 2026-10-23" in w for w in result.warnings)
    assert result.job.state is JobState.DONE
    assert fake.calls()[0].json()["model"] == "gpt-image-1"


def test_missing_key_is_auth_missing_before_sending(tmp_path: Path, fake: FakeOpenAI) -> None:
    engine = make_engine(tmp_path, config(fake), {})

    async def main() -> str:
        await engine.start()
        try:
            engine.submit(GenerationRequest(prompt="fox", backend="oa"))
        except Exception as exc:  # noqa: BLE001 - the test inspects it
            return f"{type(exc).__name__}: {exc}"
        finally:
            await engine.aclose()
        return "submitted"

    said = asyncio.run(main())
    assert said.startswith("ImagenError") and "OPENAI_API_KEY" in said
    assert fake.server.requests == []


def _image(path: Path, fmt: str) -> Path:
    buf = io.BytesIO()
    Image.new("RGBA" if fmt != "JPEG" else "RGB", (32, 32), (10, 200, 10)).save(buf, fmt)
    path.write_bytes(buf.getvalue())
    return path
