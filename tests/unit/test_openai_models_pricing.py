"""OpenAI model facts (sizes, option checks) and the pricing table: pure functions, no I/O."""

from __future__ import annotations

import pytest

from imagen_tui.backends.adapters.openai_images import model_warnings
from imagen_tui.backends.adapters.openai_models import model_family, normalize_size, refused_option
from imagen_tui.backends.adapters.openai_pricing import cost_from_usage, estimate_image_cost
from imagen_tui.backends.errors import ErrorCode, ImagenError


@pytest.mark.parametrize(
    ("name", "family"),
    [
        ("gpt-image-2", "gpt-image-2"),
        ("gpt-image-2-2026-04-21", "gpt-image-2"),
        ("gpt-image-2.5-flare-2026-09-08", "gpt-image-2.5-flare"),
        ("gpt-image-2.6-sunburst", "gpt-image-2.6-sunburst"),
        ("gpt-image-1-mini", "gpt-image-1-mini"),
        ("gpt-image-1", "gpt-image-1"),
        ("dall-e-3", "dall-e-3"),
        ("gpt-image-10", None),
        ("gpt-image-2-turbo", None),
        ("my-gateway/flux", None),
    ],
)
def test_model_family_matches_names_and_dated_snapshots(name: str, family: str | None) -> None:
    found = model_family(name)
    assert (found.name if found else None) == family


@pytest.mark.parametrize(
    ("model", "asked", "made"),
    [
        ("gpt-image-2", (1000, 1000), (1008, 1008)),  # rounded to multiples of 16
        ("gpt-image-2", (3840, 2160), (3840, 2160)),
        ("gpt-image-2", (1024, 3072), (1024, 3072)),  # exactly 1:3
        ("gpt-image-1.5", (512, 512), (1024, 1024)),  # same aspect as a preset
        ("gpt-image-1.5", (768, 512), (1536, 1024)),
        ("dall-e-3", (1792, 1024), (1792, 1024)),
        ("unknown-model", (333, 777), (333, 777)),  # not ours to judge
    ],
)
def test_normalize_size_maps_to_what_the_model_makes(
    model: str, asked: tuple[int, int], made: tuple[int, int]
) -> None:
    assert normalize_size(model_family(model), *asked) == made


@pytest.mark.parametrize(
    ("model", "asked", "says"),
    [
        ("gpt-image-2", (3000, 900), "ratio at most 3:1"),
        ("gpt-image-2", (3840, 2176), "at most 3840x2160 pixels"),
        ("gpt-image-2", (4096, 1536), "long edge at most 3840"),
        ("gpt-image-1.5", (1024, 576), "allowed: 1024x1024, 1536x1024, 1024x1536"),
        ("dall-e-3", (1536, 1024), "allowed: 1024x1024, 1792x1024, 1024x1792"),
    ],
)
def test_normalize_size_refuses_naming_what_is_allowed(
    model: str, asked: tuple[int, int], says: str
) -> None:
    with pytest.raises(ImagenError) as info:
        normalize_size(model_family(model), *asked)
    assert info.value.code == ErrorCode.BAD_REQUEST and says in info.value.detail
    assert f"{asked[0]}x{asked[1]}" in info.value.detail


@pytest.mark.parametrize(
    ("model", "changes", "says"),
    [
        ("gpt-image-2", {"quality": "xhigh"}, "allowed: auto, high, low, medium"),
        ("gpt-image-2.5-sunburst", {"quality": "xhigh"}, None),
        ("gpt-image-2", {"input_fidelity": "low"}, "allowed: none"),
        ("gpt-image-1-mini", {"input_fidelity": "low"}, None),
        ("gpt-image-1-mini", {"input_fidelity": "high"}, "allowed: low"),
        ("gpt-image-1.5", {"input_fidelity": "high", "editing": False}, "edits only"),
        ("gpt-image-2", {"background": "transparent", "output_format": "jpeg"}, "png or webp"),
        ("unknown", {"background": "transparent", "output_format": "jpeg"}, "png or webp"),
        ("dall-e-3", {"background": "transparent"}, "cannot make a transparent"),
        ("dall-e-3", {"quality": "hd"}, None),
        ("unknown", {"quality": "max"}, None),
    ],
)
def test_refused_option_names_the_refused_value(
    model: str, changes: dict, says: str | None
) -> None:
    values = {
        "quality": "auto",
        "input_fidelity": None,
        "background": "auto",
        "output_format": "png",
        "editing": True,
        **changes,
    }
    refused = refused_option(model_family(model), **values)
    problem = refused[1] if refused else None
    if says is None:
        assert problem is None
    else:
        assert problem is not None and says in problem


@pytest.mark.parametrize(
    ("model", "quality", "size", "usd"),
    [
        ("gpt-image-1", "medium", (1024, 1024), 0.042),
        ("gpt-image-1", "high", (1536, 1024), 0.25),
        ("gpt-image-1", "auto", (1024, 1024), 0.167),  # auto is priced as high
        ("gpt-image-1.5", "low", (1024, 1536), 0.013),
        ("gpt-image-1-mini", "medium", (1024, 1024), 0.011),
        ("gpt-image-2", "medium", (1024, 1536), 1584 * 30 / 1e6),
        ("gpt-image-2-2026-04-21", "low", (2048, 2048), 272 * 4 * 30 / 1e6),
        ("gpt-image-2.6-sunburst", "high", (1024, 1024), 4160 * 30 / 1e6),
    ],
)
def test_estimate_from_the_table(
    model: str, quality: str, size: tuple[int, int], usd: float
) -> None:
    assert estimate_image_cost(model, quality, *size) == pytest.approx(usd, abs=1e-6)


def test_estimate_adds_the_prompts_text_tokens() -> None:
    bare = estimate_image_cost("gpt-image-2", "low", 1024, 1024)
    worded = estimate_image_cost("gpt-image-2", "low", 1024, 1024, "x" * 4000)
    assert bare is not None and worded == pytest.approx(bare + 1000 * 5 / 1e6, abs=1e-6)


@pytest.mark.parametrize(
    ("model", "quality"),
    [
        ("gpt-image-2.5-sunburst", "xhigh"),
        ("dall-e-3", "standard"),
        ("gpt-image-2.6-flare", "low"),
        ("proxy-model", "low"),
    ],
)
def test_unknown_prices_are_none_not_guessed(model: str, quality: str) -> None:
    assert estimate_image_cost(model, quality, 1024, 1024) is None


def test_cost_from_usage_prices_each_token_kind() -> None:
    usage = {
        "input_tokens": 60,
        "input_tokens_details": {"text_tokens": 50, "image_tokens": 10},
        "output_tokens": 1100,
        "output_tokens_details": {"image_tokens": 1056, "text_tokens": 44},
    }
    expected = (50 * 5 + 10 * 10 + 1056 * 40) / 1e6
    assert cost_from_usage("gpt-image-1", usage) == pytest.approx(expected)


def test_cost_from_usage_without_details_counts_input_as_text() -> None:
    usage = {"input_tokens": 100, "output_tokens": 272}
    assert cost_from_usage("gpt-image-2", usage) == pytest.approx((100 * 5 + 272 * 30) / 1e6)


@pytest.mark.parametrize(
    ("model", "usage"),
    [
        ("gpt-image-1.5", {"output_tokens": 10}),
        ("gpt-image-2", None),
        ("gpt-image-2", "not a dict"),
        ("unknown", {"output_tokens": 10}),
    ],
)
def test_cost_from_usage_is_none_without_rates_or_usage(model: str, usage: object) -> None:
    assert cost_from_usage(model, usage) is None  # type: ignore[arg-type]


def test_cost_from_usage_ignores_nonsense_counts() -> None:
    usage = {"input_tokens": True, "output_tokens": -5, "input_tokens_details": {}}
    assert cost_from_usage("gpt-image-2", usage) == 0.0


def test_model_warnings_note_retired_and_unknown_models_only() -> None:
    assert model_warnings("gpt-image-2") == []
    assert "retired 2026-05-12" in model_warnings("dall-e-3")[0]
    assert "shut down 2026-10-23" in model_warnings("gpt-image-1-2025-04-15")[0]
    (note,) = model_warnings("proxy\x1b[31m-model")
    assert "unknown here" in note and "\x1b" not in note
