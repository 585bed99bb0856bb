"""The `openai-responses` adapter through the real Engine against a fake Responses API, with an
API key and with a ChatGPT login read from a Codex `auth.json`."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import os
from pathlib import Path

import pytest
from PIL import Image

from imagen_tui.backends.errors import ErrorCode, ImagenError
from imagen_tui.backends.events import EventKind
from imagen_tui.backends.models import GenerationRequest, JobState
from tests.fakes.openai import PARTIAL_PNGS
from tests.fakes.openai_responses import API_PATH, CODEX_PATH, REVISED, FakeResponses
from tests.fakes.server import FakeServer, running

from .engine_harness import Run, cancel_on_preview, files_under, make_engine, run_job

KEY = "sk-test-responses-0123456789"
TOKEN = "eyJ-access-token-secret-AAAA"
ACCOUNT = "acct_1234"


def write_auth(home: Path, token: str = TOKEN, account: str | None = ACCOUNT) -> Path:
    """A Codex auth.json as `codex login` writes it (mode 0600)."""
    home.mkdir(parents=True, exist_ok=True)
    claims = {"https://api.openai.com/auth": {"chatgpt_account_id": ACCOUNT}}
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    tokens = {"id_token": f"e30.{payload}.sig", "access_token": token, "refresh_token": "rt_x"}
    if account:
        tokens["account_id"] = account
    path = home / "auth.json"
    path.write_text(
        json.dumps(
            {"OPENAI_API_KEY": None, "tokens": tokens, "last_refresh": "2026-11-28T10:00:00Z"}
        )
    )
    path.chmod(0o600)
    return path


def config(base: str, **options: object) -> str:
    lines = ["[backends.rs]", 'type = "openai-responses"', f'base_url = "{base}"']
    lines += [f"{k} = {json.dumps(v)}" for k, v in options.items()]
    return "\n".join(lines) + "\n"


def run(
    tmp_path: Path,
    toml: str,
    request: GenerationRequest | None = None,
    *,
    env: dict[str, str] | None = None,
    on_event=None,
) -> Run:
    engine = make_engine(tmp_path, toml, env if env is not None else {"OPENAI_API_KEY": KEY})
    request = request or GenerationRequest(prompt="a red fox in snow", backend="rs")
    return asyncio.run(run_job(engine, request, on_event))


@pytest.fixture
def fake(fake_server: FakeServer) -> FakeResponses:
    return FakeResponses(fake_server, key=KEY, token=TOKEN, account=ACCOUNT)


def api(fake: FakeResponses, **options: object) -> str:
    return config(fake.api_base, **options)


def codex(fake: FakeResponses, home: Path, **options: object) -> str:
    return config(fake.codex_base, auth="codex", codex_home=str(home), **options)


def test_api_key_success_forces_the_tool_and_keeps_the_revised_prompt(
    tmp_path: Path, fake: FakeResponses
) -> None:
    result = run(tmp_path, api(fake, quality="low", image_model="gpt-image-2"))
    assert result.job.state is JobState.DONE, result.job.error_message
    (call,) = fake.calls(API_PATH)
    assert call.headers["Authorization"] == f"Bearer {KEY}"
    body = call.json()
    assert body["model"] == "gpt-5" and body["stream"] is True and body["store"] is False
    assert body["tool_choice"] == {"type": "image_generation"}
    assert body["input"] == [
        {"role": "user", "content": [{"type": "input_text", "text": "a red fox in snow"}]}
    ]
    assert body["tools"] == [
        {
            "type": "image_generation",
            "size": "1024x1024",
            "quality": "low",
            "output_format": "png",
            "partial_images": 2,
            "model": "gpt-image-2",
        }
    ]
    meta = result.sidecar()
    assert meta["revised_prompt"] == REVISED
    assert meta["provider"]["response_id"] == "resp_fake"
    assert meta["provider"]["usage"]["total_tokens"] == 160
    assert meta["provider"]["image_call"]["status"] == "completed"
    assert meta["cost_usd"] == pytest.approx(
        272 * 30 / 1e6 + len("a red fox in snow") / 4 * 5 / 1e6, abs=1e-6
    )
    assert result.previews() == list(PARTIAL_PNGS[:2])
    messages = [e.job.message for e in result.events if e.kind is EventKind.PROGRESS]
    assert "generating" in messages and "partial image 2/2" in messages


def test_codex_login_success_reads_auth_json_and_never_writes_it(
    tmp_path: Path, fake: FakeResponses
) -> None:
    home = tmp_path / "codex"
    auth = write_auth(home, account=None)  # the account id then comes from the id_token claim
    before = (auth.read_bytes(), os.stat(auth).st_mtime_ns, sorted(os.listdir(home)))
    result = run(tmp_path, codex(fake, home), env={})
    assert result.job.state is JobState.DONE, result.job.error_message
    (call,) = fake.calls(CODEX_PATH)
    assert call.headers["Authorization"] == f"Bearer {TOKEN}"
    assert call.headers["ChatGPT-Account-ID"] == ACCOUNT and call.headers["session_id"]
    body = call.json()
    assert body["tool_choice"] == "auto" and body["store"] is False and body["instructions"]
    assert (auth.read_bytes(), os.stat(auth).st_mtime_ns, sorted(os.listdir(home))) == before
    meta = result.sidecar()
    assert meta["cost_usd"] == 0.0 and meta["provider"]["auth"] == "codex"
    assert any("undocumented" in w for w in result.warnings)


def test_codex_401_rereads_the_login_once_and_uses_a_refreshed_token(
    tmp_path: Path, fake: FakeResponses
) -> None:
    home = tmp_path / "codex"
    write_auth(home, token="old-token-before-refresh")
    fake.on_unauthorized = lambda: write_auth(home, token=TOKEN)  # Codex refreshed meanwhile
    result = run(tmp_path, codex(fake, home), env={})
    assert result.job.state is JobState.DONE, result.job.error_message
    tokens = [c.headers["Authorization"] for c in fake.calls(CODEX_PATH)]
    assert tokens == ["Bearer old-token-before-refresh", f"Bearer {TOKEN}"]


def test_codex_401_with_an_unchanged_token_says_run_codex_login(
    tmp_path: Path, fake: FakeResponses
) -> None:
    home = tmp_path / "codex"
    write_auth(home, token="expired-token")
    result = run(tmp_path, codex(fake, home), env={})
    assert result.job.state is JobState.FAILED and result.job.error_code == ErrorCode.AUTH_FAILED
    assert "ChatGPT login expired: run `codex login`" in (result.job.error_message or "")
    assert len(fake.calls(CODEX_PATH)) == 1
    assert "expired-token" not in (result.job.error_message or "")


def test_codex_without_a_login_is_not_ready_and_says_why(
    tmp_path: Path, fake: FakeResponses
) -> None:
    home = tmp_path / "empty-codex"
    engine = make_engine(tmp_path, codex(fake, home), {})
    (info,) = [b for b in engine.backends() if b.name == "rs"]
    assert info.readiness is not None
    assert str(home / "auth.json") in info.readiness and "codex login" in info.readiness
    assert "keyring" in info.readiness
    with pytest.raises(ImagenError) as error:
        engine.submit(GenerationRequest(prompt="fox", backend="rs"))
    assert error.value.code == ErrorCode.AUTH_MISSING
    assert fake.server.requests == []


def test_429_with_retry_after_then_success(tmp_path: Path, fake: FakeResponses) -> None:
    fake.script = ["rate_limited", "ok"]
    result = run(tmp_path, api(fake))
    assert result.job.state is JobState.DONE and result.job.attempts == 2
    (retrying,) = [e for e in result.events if e.kind is EventKind.RETRYING]
    assert "in 1.0s" in retrying.job.message


def test_500_twice_then_success(tmp_path: Path, fake: FakeResponses) -> None:
    fake.script = ["server_error", "server_error", "ok"]
    result = run(tmp_path, api(fake))
    assert result.job.state is JobState.DONE and len(fake.calls(API_PATH)) == 3


@pytest.mark.parametrize(
    ("mode", "code", "says", "calls"),
    [
        ("bad_request", ErrorCode.BAD_REQUEST, "Invalid value for 'size'", 1),
        ("safety", ErrorCode.SAFETY_BLOCKED, "blocked by moderation", 1),
        ("truncated", ErrorCode.NO_IMAGE, "not a complete image", 1),
        ("text_only", ErrorCode.NO_IMAGE, "I cannot draw that ␛[2J sorry", 1),
        ("failed", ErrorCode.UNAVAILABLE, "The model failed to generate", 4),
        ("error_event", ErrorCode.UNAVAILABLE, "stream broke", 4),
    ],
)
def test_failures_map_to_the_taxonomy(
    tmp_path: Path, fake: FakeResponses, mode: str, code: ErrorCode, says: str, calls: int
) -> None:
    fake.script = [mode]
    result = run(tmp_path, api(fake))
    assert result.job.state is JobState.FAILED and result.job.error_code == code
    assert says in (result.job.error_message or "")
    assert "\x1b" not in (result.job.error_message or "")
    assert len(fake.calls(API_PATH)) == calls  # server-side failures are retried (3 retries)
    assert files_under(tmp_path / "out") == []


def test_timeout(tmp_path: Path, fake: FakeResponses) -> None:
    fake.script = ["hang"]
    result = run(tmp_path, api(fake, timeout_s=0.5))
    assert result.job.state is JobState.FAILED and result.job.error_code == ErrorCode.TIMEOUT


def test_cancel_mid_stream_closes_the_connection(tmp_path: Path, fake: FakeResponses) -> None:
    fake.script = ["hold"]
    result = run(tmp_path, api(fake), on_event=cancel_on_preview)
    assert result.job.state is JobState.CANCELLED
    assert fake.disconnected.wait(10), "the provider never saw the client leave"
    assert files_under(tmp_path / "out") == []


def test_references_and_mask_travel_as_data_urls(tmp_path: Path, fake: FakeResponses) -> None:
    ref, mask = _png(tmp_path / "ref.png"), _png(tmp_path / "mask.png")
    request = GenerationRequest(prompt="night", backend="rs", references=(ref,))
    result = run(tmp_path, api(fake, mask=str(mask), action="edit"), request)
    assert result.job.state is JobState.DONE, result.job.error_message
    body = fake.calls(API_PATH)[0].json()
    image_part = body["input"][0]["content"][1]
    assert image_part["type"] == "input_image"
    assert (
        image_part["image_url"]
        == "data:image/png;base64," + base64.b64encode(ref.read_bytes()).decode()
    )
    tool = body["tools"][0]
    assert tool["action"] == "edit" and tool["input_image_mask"]["image_url"].startswith(
        "data:image/png;base64,"
    )


def test_unreachable_server_names_the_url(tmp_path: Path) -> None:
    with running() as server:
        base = server.url + "/v1"
    engine = make_engine(tmp_path, config(base), {"OPENAI_API_KEY": KEY}, retries=1)
    result = asyncio.run(run_job(engine, GenerationRequest(prompt="fox", backend="rs")))
    assert result.job.error_code == ErrorCode.UNAVAILABLE
    assert f"{base}/responses" in (result.job.error_message or "")


def test_bad_input_is_refused_before_sending(tmp_path: Path, fake: FakeResponses) -> None:
    engine = make_engine(tmp_path, api(fake, image_model="gpt-image-1.5"), {"OPENAI_API_KEY": KEY})
    prepared = engine.prepare(
        GenerationRequest(prompt="fox", backend="rs", negative="blur", width=1024, height=600)
    )
    fields = {p.field: p.message for p in prepared.problems}
    assert "takes no negative prompt" in fields["negative"]
    prepared = engine.prepare(GenerationRequest(prompt="fox", backend="rs", width=1024, height=600))
    assert "allowed: 1024x1024, 1536x1024, 1024x1536" in prepared.problems[0].message
    assert fake.server.requests == []


def _png(path: Path) -> Path:
    buf = io.BytesIO()
    Image.new("RGBA", (16, 16), (0, 0, 0, 0)).save(buf, "PNG")
    path.write_bytes(buf.getvalue())
    return path
