"""The pure parts of the `replicate` adapter: request building and response reading."""

from __future__ import annotations

import pytest

from imagen_tui.backends.adapters.replicate import (
    PRICES_USD,
    ReplicateBackend,
    ReplicateOptions,
    build_input,
    create_headers,
    create_target,
    failure,
    output_urls,
    parse_prediction,
    progress_of,
)
from imagen_tui.backends.errors import ErrorCode, ImagenError
from imagen_tui.backends.models import GenerationRequest
from imagen_tui.backends.options import option_specs

BASE = "https://api.replicate.com/v1"
FLUX = "black-forest-labs/flux-schnell"


def opts(**kw) -> ReplicateOptions:
    return ReplicateOptions(**kw)


def backend(**kw) -> ReplicateBackend:
    return ReplicateBackend("rep", opts(**kw), {"REPLICATE_API_TOKEN": "r8_x"})


@pytest.mark.parametrize(
    ("model", "url", "extra"),
    [
        (FLUX, f"{BASE}/models/{FLUX}/predictions", {}),
        ("acme/sdxl:39ed52f2", f"{BASE}/predictions", {"version": "39ed52f2"}),
        ("deployments/acme/fox", f"{BASE}/deployments/acme/fox/predictions", {}),
    ],
)  # fmt: skip
def test_create_target_for_each_model_form(model: str, url: str, extra: dict) -> None:
    assert create_target(BASE + "/", model) == (url, extra)


@pytest.mark.parametrize("model", ["flux", "a/b/c", "/x"])
def test_create_target_refuses_other_forms(model: str) -> None:
    with pytest.raises(ImagenError) as info:
        create_target(BASE, model)
    assert info.value.code == ErrorCode.BAD_REQUEST and "owner/name" in info.value.detail


def test_build_input_uses_replicate_field_names_and_extra_input_wins() -> None:
    request = GenerationRequest(prompt="fox", width=512, height=512, seed=3, steps=2)
    body = build_input(
        request,
        opts(output_format="png", output_quality=90, go_fast=False, extra_input={"seed": 9}),
    )
    assert body == {
        "prompt": "fox",
        "aspect_ratio": "1:1",
        "seed": 9,
        "num_inference_steps": 2,
        "megapixels": "0.25",
        "output_format": "png",
        "output_quality": 90,
        "go_fast": False,
    }


def test_create_headers_ask_to_wait_and_set_a_deadline() -> None:
    headers = create_headers("r8_x", opts(wait_s=30, timeout_s=90.5))
    assert headers == {"Authorization": "Bearer r8_x", "Prefer": "wait=30", "Cancel-After": "91s"}


def test_normalize_maps_sizes_to_what_flux_makes() -> None:
    b = backend()
    size = lambda w, h, **o: b.normalize(GenerationRequest("p", width=w, height=h), opts(**o)).size  # noqa: E731
    assert size(1920, 1080) == "1344x768"
    assert size(512, 512) == "512x512"
    assert size(640, 360) == "672x384"
    assert size(1024, 1024, aspect_ratio="9:21") == "640x1536"
    with pytest.raises(ImagenError, match="allowed: 1:1, 16:9"):
        b.normalize(GenerationRequest("p", width=4096, height=512), opts())


def test_normalize_is_stable() -> None:
    b = backend()
    small = [f"{round(w / 32) * 16}x{round(h / 32) * 16}" for w, h in map(_pixels, b.sizes)]
    for preset in (*b.sizes, *small):
        w, h = _pixels(preset)
        assert b.normalize(GenerationRequest("p", width=w, height=h), opts()).size == preset


def _pixels(size: str) -> tuple[int, int]:
    w, h = size.split("x")
    return int(w), int(h)


def test_output_forms() -> None:
    assert output_urls("https://x/a.png") == ("https://x/a.png",)
    assert output_urls(["https://x/a.png", "data:;base64,AA=="]) == (
        "https://x/a.png",
        "data:;base64,AA==",
    )
    assert output_urls({"image": "https://x/a.png", "n": 1}) == ("https://x/a.png",)
    assert output_urls(None) == () and output_urls("") == ()


def test_parse_prediction_needs_an_id() -> None:
    with pytest.raises(ImagenError) as info:
        parse_prediction({"status": "starting"})
    assert info.value.code == ErrorCode.UNAVAILABLE


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"status": "failed", "error": "NSFW content detected"}, ErrorCode.SAFETY_BLOCKED),
        ({"status": "failed", "error": "boom"}, ErrorCode.NO_IMAGE),
        ({"status": "canceled"}, ErrorCode.CANCELLED),
        ({"status": "aborted"}, ErrorCode.TIMEOUT),
        ({"status": "succeeded", "output": []}, ErrorCode.NO_IMAGE),
        ({"status": "succeeded", "output": ["u"], "data_removed": True}, ErrorCode.NO_IMAGE),
    ],
)
def test_final_states_map_to_the_taxonomy(payload: dict, code: ErrorCode) -> None:
    error = failure(parse_prediction({"id": "p1", **payload}))
    assert error is not None and error.code == code and "p1" in error.detail


def test_a_succeeded_prediction_with_output_is_no_failure() -> None:
    assert failure(parse_prediction({"id": "p", "status": "succeeded", "output": ["u"]})) is None


def test_progress_of_running_predictions() -> None:
    logs = " 50%|#####     | 2/4"
    assert progress_of(parse_prediction({"id": "p", "status": "starting"})) == (0.0, "starting")
    assert progress_of(parse_prediction({"id": "p", "status": "processing", "logs": logs})) == (
        0.5,
        "step 2/4",
    )


def test_cost_from_the_table_a_version_or_the_override() -> None:
    b, request = backend(), GenerationRequest("p")
    assert b.estimate_cost(request, opts()) == PRICES_USD["black-forest-labs/flux-schnell"]
    dev = opts(model="black-forest-labs/flux-dev:abc")
    assert b.estimate_cost(request, dev) == 0.025
    assert b.estimate_cost(request, opts(model="acme/unknown")) is None
    assert b.estimate_cost(request, opts(model="acme/unknown", price_usd=0.5)) == 0.5


def test_options_are_strict_and_listed_with_docs() -> None:
    with pytest.raises(ValueError):
        ReplicateBackend.parse_options({"quality": "high"})
    specs = {s.name: s for s in option_specs(ReplicateBackend)}
    assert specs["aspect_ratio"].allowed[:3] == ("1:1", "16:9", "21:9")
    assert specs["api_key_env"].default == "REPLICATE_API_TOKEN"
    assert specs["output_format"].doc.startswith("Input `output_format`")


def test_a_retired_upstream_model_warns_before_sending_but_is_not_refused() -> None:
    b = backend()
    request = GenerationRequest("p")
    (note,) = b.warnings(request, opts(model="google/imagen-4"))
    assert "google/imagen-4" in note and "Imagen" in note and "sent anyway" in note
    assert b.warnings(request, opts()) == []
    assert b.normalize(request, opts(model="google/imagen-4")).size == "1024x1024"


@pytest.mark.parametrize("bad", ["../../v1/account", "id\x1b]0;pwned\x07", "x" * 300])
def test_malformed_prediction_ids_are_refused(bad: str) -> None:
    with pytest.raises(ImagenError) as info:
        parse_prediction({"id": bad, "status": "starting"})
    assert info.value.code == ErrorCode.UNAVAILABLE and bad not in info.value.message
