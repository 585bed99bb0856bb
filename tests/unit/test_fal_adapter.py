"""The pure parts of the `fal` adapter: queue URLs, inputs and answers."""

from __future__ import annotations

import pytest

from imagen_tui.backends.adapters.fal import (
    FalBackend,
    FalOptions,
    app_id,
    build_input,
    parse_result,
    parse_status,
    parse_submit,
    progress_of,
    queue_urls,
    status_failure,
    submit_headers,
    submit_url,
)
from imagen_tui.backends.errors import ErrorCode, ImagenError
from imagen_tui.backends.models import GenerationRequest
from imagen_tui.backends.options import option_specs

BASE = "https://queue.fal.run"


@pytest.mark.parametrize(
    ("model", "app"),
    [
        ("fal-ai/flux/schnell", "fal-ai/flux"),
        ("fal-ai/flux-1/dev", "fal-ai/flux-1"),
        ("fal-ai/fast-sdxl", "fal-ai/fast-sdxl"),
        ("workflows/acme/my-flow/run", "workflows/acme/my-flow"),
    ],
)
def test_app_id_drops_the_subpath(model: str, app: str) -> None:
    assert app_id(model) == app


def test_app_id_refuses_a_bare_name() -> None:
    with pytest.raises(ImagenError) as info:
        submit_url(BASE, "flux")
    assert info.value.code == ErrorCode.BAD_REQUEST


def test_queue_urls_are_rebuilt_from_the_ids() -> None:
    urls = queue_urls(BASE + "/", "fal-ai/flux/dev", "abc-123")
    root = f"{BASE}/fal-ai/flux/requests/abc-123"
    assert (urls.status, urls.response, urls.cancel) == (f"{root}/status", root, f"{root}/cancel")
    assert submit_url(BASE, "fal-ai/flux/dev") == f"{BASE}/fal-ai/flux/dev"


def test_returned_urls_are_used_only_on_the_configured_origin() -> None:
    same = {"request_id": "r1", "status_url": f"{BASE}/fal-ai/flux/requests/r1/status?x=1"}
    assert parse_submit(same, BASE, "fal-ai/flux/dev").status.endswith("/status?x=1")
    elsewhere = {"request_id": "r1", "status_url": "https://evil.example/steal"}
    urls = parse_submit(elsewhere, BASE, "fal-ai/flux/dev")
    assert urls.status == f"{BASE}/fal-ai/flux/requests/r1/status"
    with pytest.raises(ImagenError):
        parse_submit({"status": "IN_QUEUE"}, BASE, "fal-ai/flux/dev")


def test_build_input_uses_fal_field_names() -> None:
    request = GenerationRequest(prompt="fox", width=512, height=512, seed=4, steps=2)
    options = FalOptions(output_format="png", guidance_scale=4, sync_mode=True,
                         extra_input={"num_images": 1, "loras": []})  # fmt: skip
    assert build_input(request, options) == {
        "prompt": "fox",
        "image_size": "square",
        "num_images": 1,
        "seed": 4,
        "num_inference_steps": 2,
        "output_format": "png",
        "guidance_scale": 4,
        "sync_mode": True,
        "loras": [],
    }
    custom = build_input(GenerationRequest("fox", width=800, height=600), FalOptions())
    assert custom["image_size"] == {"width": 800, "height": 600}


def test_submit_headers() -> None:
    options = FalOptions(priority="low", start_timeout_s=30)
    assert submit_headers("id:secret", options) == {
        "Authorization": "Key id:secret",
        "X-Fal-Queue-Priority": "low",
        "X-Fal-Request-Timeout": "30",
    }


def test_status_progress_and_failures() -> None:
    queued = parse_status({"status": "IN_QUEUE", "queue_position": 4})
    assert not queued.done and progress_of(queued) == (0.0, "queued (position 4)")
    running = parse_status({"status": "IN_PROGRESS", "logs": [{"message": " 25%|#| 1/4"}]})
    assert progress_of(running) == (0.25, "step 1/4")
    done = parse_status({"status": "COMPLETED", "metrics": {"inference_time": 1.5}})
    assert done.done and status_failure(done) is None
    cases = {
        "content_policy_violation": ErrorCode.SAFETY_BLOCKED,
        "request_timeout": ErrorCode.TIMEOUT,
        "runner_disconnected": ErrorCode.UNAVAILABLE,
        "something_else": ErrorCode.NO_IMAGE,
    }
    for kind, code in cases.items():
        error = status_failure(parse_status({"status": "COMPLETED", "error_type": kind}))
        assert error is not None and error.code == code
    with pytest.raises(ImagenError):
        parse_status({"queue_position": 1})


def test_parse_result() -> None:
    answer = {"images": [{"url": "https://v3.fal.media/x.jpg"}], "seed": 42,
              "has_nsfw_concepts": [False], "timings": {"inference": 0.3}}  # fmt: skip
    result = parse_result(answer, "r1")
    assert (result.url, result.seed) == ("https://v3.fal.media/x.jpg", 42)
    assert result.metadata == {"request_id": "r1", "timings": {"inference": 0.3}}
    assert parse_result({"image": {"url": "u"}}, "r1").url == "u"
    with pytest.raises(ImagenError) as blocked:
        parse_result({**answer, "has_nsfw_concepts": [True]}, "r1")
    assert blocked.value.code == ErrorCode.SAFETY_BLOCKED
    with pytest.raises(ImagenError) as empty:
        parse_result({"images": []}, "r1")
    assert empty.value.code == ErrorCode.NO_IMAGE


def test_cost_is_per_megapixel() -> None:
    b = FalBackend("f", FalOptions(), {"FAL_KEY": "k"})
    request = GenerationRequest("p", width=1024, height=1024)
    assert b.estimate_cost(request, FalOptions()) == round(0.003 * 1.048576, 6)
    assert b.estimate_cost(request, FalOptions(model="fal-ai/flux/dev")) == round(
        0.025 * 1.048576, 6
    )
    assert b.estimate_cost(request, FalOptions(model="acme/other")) is None
    assert b.estimate_cost(request, FalOptions(model="acme/other", price_per_mp_usd=1)) == 1.048576


def test_normalize_applies_the_preset() -> None:
    b = FalBackend("f", FalOptions(), {"FAL_KEY": "k"})
    request = GenerationRequest("p", width=900, height=700)
    assert b.normalize(request, FalOptions()).size == "900x700"
    assert b.normalize(request, FalOptions(image_size="landscape_16_9")).size == "1024x576"


def test_options_are_strict_and_listed_with_docs() -> None:
    with pytest.raises(ValueError):
        FalBackend.parse_options({"negative_prompt": "x"})
    specs = {s.name: s for s in option_specs(FalBackend)}
    assert "square_hd" in specs["image_size"].allowed
    assert specs["api_key_env"].default == "FAL_KEY"
    assert specs["sync_mode"].doc.startswith("Input `sync_mode`")


def test_a_retired_upstream_model_warns_but_is_not_refused() -> None:
    b = FalBackend("f", FalOptions(), {"FAL_KEY": "k"})
    request = GenerationRequest("p")
    (note,) = b.warnings(request, FalOptions(model="fal-ai/imagen4/preview"))
    assert "fal-ai/imagen4/preview" in note and "sent anyway" in note
    assert b.warnings(request, FalOptions()) == []


@pytest.mark.parametrize("bad", ["../secrets", "r1\x1b[2J", ""])
def test_malformed_request_ids_are_refused(bad: str) -> None:
    with pytest.raises(ImagenError) as info:
        parse_submit({"request_id": bad}, BASE, "fal-ai/flux/dev")
    assert info.value.code == ErrorCode.UNAVAILABLE
