"""Pure request building and response parsing of both OpenAI adapters; the Codex login reader."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import pytest
from PIL import Image

from imagen_tui.backends.adapters import codex_auth
from imagen_tui.backends.adapters.image_payload import decode_image, is_complete
from imagen_tui.backends.adapters.openai_images import (
    OpenAIImagesOptions,
    Outcome,
    Partial,
    form_fields,
    form_files,
    parse_images_response,
    parse_stream_event,
    request_fields,
)
from imagen_tui.backends.adapters.openai_models import model_family
from imagen_tui.backends.adapters.openai_responses import (
    OpenAIResponsesOptions,
    Preview,
    Stage,
    StreamState,
    apply_event,
    final_image,
    responses_body,
)
from imagen_tui.backends.adapters.reference_files import ReferenceFile, read_reference
from imagen_tui.backends.errors import ErrorCode, ImagenError
from imagen_tui.backends.models import GenerationRequest


def encoded(fmt: str, size: tuple[int, int] = (8, 8)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (1, 2, 3)).save(buf, fmt)
    return buf.getvalue()


PNG, JPEG, WEBP, GIF = (encoded(f) for f in ("PNG", "JPEG", "WEBP", "GIF"))


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# --- image payloads -------------------------------------------------------------------------


@pytest.mark.parametrize("data", [PNG, JPEG, WEBP, GIF])
def test_complete_images_are_complete_and_cut_ones_are_not(data: bytes) -> None:
    assert is_complete(data)
    assert not is_complete(data[: len(data) - 3])


def test_decode_image_strips_a_data_url_prefix() -> None:
    assert decode_image("data:image/png;base64," + b64(PNG), "x") == PNG
    assert decode_image(f"  {b64(JPEG)}\n", "x") == JPEG


@pytest.mark.parametrize(
    ("value", "says"),
    [
        (None, "no image data"),
        ("", "no image data"),
        ("not base64 at all!", "not valid base64"),
        (b64(PNG[:40]), "not a complete image"),
        (b64(b"<html>gateway error</html>"), "not a complete image"),
    ],
)
def test_decode_image_refuses_what_is_not_an_image(value: object, says: str) -> None:
    with pytest.raises(ImagenError) as info:
        decode_image(value, "images response")
    assert info.value.code == ErrorCode.NO_IMAGE and says in info.value.detail


def test_read_reference_names_the_file_it_cannot_use(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "ok.webp").write_bytes(WEBP)
    assert read_reference(tmp_path / "ok.webp").mime_type == "image/webp"
    for name, says in (("missing.png", "cannot be read"), ("notes.txt", "not a PNG, JPEG")):
        with pytest.raises(ImagenError) as info:
            read_reference(tmp_path / name, "mask")
        assert info.value.code == ErrorCode.BAD_REQUEST
        assert f"mask {name}" in info.value.detail and says in info.value.detail


# --- Images API requests and responses ------------------------------------------------------


def test_request_fields_for_gpt_image_leave_provider_defaults_out() -> None:
    opts = OpenAIImagesOptions(quality="high", output_compression=80, output_format="webp")
    request = GenerationRequest(prompt="p", width=1536, height=1024)
    body = request_fields(request, opts, model_family("gpt-image-2"), stream=True)
    assert body == {
        "model": "gpt-image-2",
        "prompt": "p",
        "n": 1,
        "size": "1536x1024",
        "quality": "high",
        "output_format": "webp",
        "output_compression": 80,
        "stream": True,
        "partial_images": 2,
    }


def test_request_fields_for_retired_dalle_ask_for_base64() -> None:
    opts = OpenAIImagesOptions(model="dall-e-3", quality="hd", safety_identifier="u-1")
    body = request_fields(
        GenerationRequest(prompt="p"), opts, model_family("dall-e-3"), stream=False
    )
    assert body == {
        "model": "dall-e-3",
        "prompt": "p",
        "n": 1,
        "size": "1024x1024",
        "response_format": "b64_json",
        "quality": "hd",
        "safety_identifier": "u-1",
    }


def test_form_parts_follow_openai_python() -> None:
    assert form_fields({"n": 1, "stream": True, "prompt": "p"}) == {
        "n": "1",
        "stream": "true",
        "prompt": "p",
    }
    one = ReferenceFile("a.png", PNG, "image/png")
    two = ReferenceFile("b.jpg", JPEG, "image/jpeg")
    assert [name for name, _ in form_files([one], None)] == ["image"]
    assert [name for name, _ in form_files([one, two], one)] == ["image[]", "image[]", "mask"]


def test_parse_images_response_takes_the_first_image_and_echo() -> None:
    payload = {
        "created": 1,
        "size": "1024x1024",
        "quality": "low",
        "usage": {"total_tokens": 9},
        "data": [{"b64_json": b64(PNG), "revised_prompt": "better"}],
    }
    outcome = parse_images_response(payload)
    assert outcome.data == PNG and outcome.revised_prompt == "better"
    assert outcome.usage == {"total_tokens": 9}
    assert outcome.echo == {"created": 1, "size": "1024x1024", "quality": "low"}


@pytest.mark.parametrize(
    "payload", [{"data": []}, {"data": [{"url": "https://x/y.png"}]}, [], {"created": 1}]
)
def test_parse_images_response_without_an_image_is_no_image(payload: object) -> None:
    with pytest.raises(ImagenError) as info:
        parse_images_response(payload)
    assert info.value.code == ErrorCode.NO_IMAGE


def test_stream_events_give_partials_then_the_outcome() -> None:
    partial = {
        "type": "image_generation.partial_image",
        "b64_json": b64(PNG),
        "partial_image_index": 1,
    }
    assert parse_stream_event(None, partial) == Partial(1, PNG)
    broken = {**partial, "b64_json": b64(PNG[:30])}
    assert parse_stream_event(None, broken) is None  # a bad preview never fails the job
    done = {
        "type": "image_edit.completed",
        "b64_json": b64(JPEG),
        "usage": {"output_tokens": 5},
        "size": "1024x1536",
    }
    outcome = parse_stream_event("image_edit.completed", done)
    assert isinstance(outcome, Outcome) and outcome.data == JPEG
    assert outcome.usage == {"output_tokens": 5} and outcome.echo == {"size": "1024x1536"}
    assert parse_stream_event("keepalive", {"type": "keepalive"}) is None


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (
            {"type": "error", "error": {"code": "moderation_blocked", "message": "no"}},
            ErrorCode.SAFETY_BLOCKED,
        ),
        (
            {"type": "error", "error": {"code": "rate_limit_exceeded", "message": "slow"}},
            ErrorCode.RATE_LIMITED,
        ),
        ({"error": {"type": "server_error", "message": "oops"}}, ErrorCode.UNAVAILABLE),
        (
            {"type": "error", "error": {"code": "invalid_value", "message": "bad"}},
            ErrorCode.BAD_REQUEST,
        ),
    ],
)
def test_stream_error_payloads_raise_their_taxonomy_code(payload: dict, code: ErrorCode) -> None:
    with pytest.raises(ImagenError) as info:
        parse_stream_event(None, payload)
    assert info.value.code == code


# --- Responses API --------------------------------------------------------------------------


def test_responses_body_with_an_api_key_forces_the_tool() -> None:
    opts = OpenAIResponsesOptions(quality="medium", background="transparent", partial_images=0)
    ref = ReferenceFile("r.png", PNG, "image/png")
    request = GenerationRequest(prompt="fox", width=1024, height=1536, references=(Path("r"),))
    body = responses_body(request, opts, model_family("gpt-image-2.6-sunburst"), [ref], None)
    assert body["tool_choice"] == {"type": "image_generation"} and body["store"] is False
    assert body["tools"] == [
        {
            "type": "image_generation",
            "size": "1024x1536",
            "quality": "medium",
            "output_format": "png",
            "background": "transparent",
        }
    ]
    assert body["input"][0]["content"][1] == {
        "type": "input_image",
        "image_url": "data:image/png;base64," + b64(PNG),
    }


def test_responses_body_over_a_chatgpt_login_lets_the_model_call_the_tool() -> None:
    opts = OpenAIResponsesOptions(auth="codex", model="gpt-5-codex", instructions="draw")
    body = responses_body(GenerationRequest(prompt="fox"), opts, None, [], None)
    assert body["tool_choice"] == "auto" and body["instructions"] == "draw"
    assert body["model"] == "gpt-5-codex" and body["stream"] is True


def _events(*items: tuple[str, dict]) -> StreamState:
    state = StreamState()
    for name, data in items:
        apply_event(state, name, {"type": name, **data})
    return state


def test_event_sequence_fills_the_state() -> None:
    state = StreamState()
    steps = [
        apply_event(state, None, {"type": "response.created", "response": {"id": "resp_1"}}),
        apply_event(state, None, {"type": "response.image_generation_call.generating"}),
        apply_event(
            state,
            None,
            {
                "type": "response.image_generation_call.partial_image",
                "partial_image_b64": b64(PNG),
                "partial_image_index": 0,
            },
        ),
    ]
    assert isinstance(steps[0], Stage) and isinstance(steps[1], Stage)
    assert steps[2] == Preview(0, PNG)
    item = {
        "type": "image_generation_call",
        "id": "ig",
        "status": "completed",
        "result": b64(JPEG),
        "revised_prompt": "a fox, better",
    }
    apply_event(state, None, {"type": "response.output_item.done", "item": item})
    apply_event(
        state,
        None,
        {"type": "response.completed", "response": {"id": "resp_1", "usage": {"total_tokens": 3}}},
    )
    assert state.completed and state.response_id == "resp_1"
    assert final_image(state) == JPEG and state.revised_prompt == "a fox, better"
    assert state.item == {"type": "image_generation_call", "id": "ig", "status": "completed"}
    assert state.usage == {"total_tokens": 3}


@pytest.mark.parametrize(
    ("name", "data", "code"),
    [
        (
            "response.output_item.done",
            {
                "item": {
                    "type": "image_generation_call",
                    "status": "failed",
                    "error": {"code": "moderation_blocked", "message": "no"},
                }
            },
            ErrorCode.SAFETY_BLOCKED,
        ),
        (
            "response.failed",
            {"response": {"error": {"code": "server_error", "message": "x"}}},
            ErrorCode.UNAVAILABLE,
        ),
        (
            "response.incomplete",
            {"response": {"incomplete_details": {"reason": "content_filter"}}},
            ErrorCode.SAFETY_BLOCKED,
        ),
        (
            "response.incomplete",
            {"response": {"incomplete_details": {"reason": "max_output_tokens"}}},
            ErrorCode.NO_IMAGE,
        ),
        ("error", {"code": "rate_limit_exceeded", "message": "slow"}, ErrorCode.RATE_LIMITED),
    ],
)
def test_failures_in_the_stream_raise_their_code(name: str, data: dict, code: ErrorCode) -> None:
    with pytest.raises(ImagenError) as info:
        _events((name, data))
    assert info.value.code == code


def test_a_text_answer_is_no_image_quoting_it_safely() -> None:
    message = {
        "type": "message",
        "content": [{"type": "output_text", "text": "no\x1b]0;pwned\x07"}],
    }
    state = _events(
        ("response.output_item.done", {"item": message}), ("response.completed", {"response": {}})
    )
    with pytest.raises(ImagenError) as info:
        final_image(state)
    assert info.value.code == ErrorCode.NO_IMAGE
    assert "\x1b" not in info.value.message and "␛]0;pwned␇" in info.value.message


# --- Codex login ----------------------------------------------------------------------------


def _id_token(claims: dict) -> str:
    body = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    return f"e30.{body}.signature"


def test_account_id_comes_from_the_id_token_claim() -> None:
    token = _id_token({codex_auth.AUTH_CLAIM: {"chatgpt_account_id": "acct_9"}})
    assert codex_auth.account_id_from_id_token(token) == "acct_9"
    for bad in ("", "abc", "a.!!!.c", _id_token({"sub": "x"})):
        assert codex_auth.account_id_from_id_token(bad) is None


def test_read_codex_login_prefers_tokens_account_id_and_hides_the_token(tmp_path: Path) -> None:
    path = tmp_path / "auth.json"
    tokens = {
        "access_token": "secret-at",
        "account_id": "acct_1",
        "id_token": _id_token({codex_auth.AUTH_CLAIM: {"chatgpt_account_id": "acct_2"}}),
    }
    path.write_text(json.dumps({"tokens": tokens}))
    login = codex_auth.read_codex_login(path)
    assert login.access_token == "secret-at" and login.account_id == "acct_1"
    assert "secret-at" not in repr(login)


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (None, "no ChatGPT login in"),
        ('{"OPENAI_API_KEY": "sk-x", "tokens": null}', "no ChatGPT login in"),
        ("{not json", "is not JSON"),
    ],
)
def test_read_codex_login_says_what_to_do(tmp_path: Path, content: str | None, says: str) -> None:
    path = tmp_path / "auth.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ImagenError) as info:
        codex_auth.read_codex_login(path)
    assert info.value.code == ErrorCode.AUTH_MISSING and says in info.value.detail
    assert "codex login" in info.value.detail and "sk-x" not in info.value.message
    assert codex_auth.login_problem(path) == info.value.detail


def test_codex_home_follows_option_then_env_then_default(tmp_path: Path) -> None:
    assert codex_auth.codex_home({}, str(tmp_path)) == tmp_path
    assert codex_auth.codex_home({"CODEX_HOME": "/x/codex"}) == Path("/x/codex")
    assert codex_auth.codex_home({}) == Path("~/.codex").expanduser()
