"""Pixel sizes to aspect ratio + tier and back (Gemini and xAI take no width and height)."""

from __future__ import annotations

import pytest

from imagen_tui.backends.adapters.aspect import (
    choose_shape,
    nearest_ratio,
    nearest_tier,
    nominal_size,
    preset_sizes,
    ratio_value,
)
from imagen_tui.backends.adapters.gemini_models import ALL_RATIOS, TIER_MEGAPIXELS
from imagen_tui.backends.adapters.xai import RATIOS, RESOLUTION_MEGAPIXELS
from imagen_tui.backends.errors import ErrorCode, ImagenError
from imagen_tui.backends.models import MAX_SIDE, MIN_SIDE


@pytest.mark.parametrize(
    ("ratios", "tiers"), [(ALL_RATIOS, TIER_MEGAPIXELS), (RATIOS, RESOLUTION_MEGAPIXELS)]
)
def test_nominal_sizes_map_back_to_the_same_ratio_and_tier(ratios, tiers) -> None:
    for ratio in ratios:
        seen: dict[tuple[int, int], str] = {}
        for tier, megapixels in sorted(tiers.items(), key=lambda kv: kv[1]):
            width, height = nominal_size(ratio, megapixels)
            assert MIN_SIDE <= width <= MAX_SIDE and MIN_SIDE <= height <= MAX_SIDE
            assert width % 8 == 0 and height % 8 == 0
            shape = choose_shape(width, height, ratios=ratios, tiers=tiers)
            # two tiers clamped to one size map back to the cheaper one
            expected = seen.setdefault((width, height), tier)
            assert (shape.ratio, shape.tier) == (ratio, expected), (width, height)


def test_ratio_values_and_bad_ratios() -> None:
    assert ratio_value("16:9") == pytest.approx(16 / 9)
    assert ratio_value("9:19.5") == pytest.approx(9 / 19.5)
    for bad in ("auto", "16x9", "0:1", "1:0", "a:b"):
        with pytest.raises(ValueError):
            ratio_value(bad)


def test_nearest_ratio_tolerates_rounding_but_not_other_shapes() -> None:
    assert nearest_ratio(1920, 1080, ALL_RATIOS) == "16:9"
    assert nearest_ratio(1024, 1024, ("auto", "1:1")) == "1:1"
    assert nearest_ratio(1000, 300, ALL_RATIOS) is None


def test_nearest_tier_goes_by_area_and_ties_go_to_the_cheaper() -> None:
    tiers = {"1K": 1.0, "4K": 16.0}
    assert nearest_tier(1024, 1024, tiers) == "1K"
    assert nearest_tier(4000, 4000, tiers) == "4K"
    assert nearest_tier(2000, 2000, tiers) == "1K"  # exactly between on a log scale


def test_clamped_tiers_of_wide_ratios_still_round_trip() -> None:
    tiers = dict(TIER_MEGAPIXELS)
    four_k = nominal_size("21:9", tiers["4K"])
    assert four_k[0] == MAX_SIDE
    assert choose_shape(*four_k, ratios=ALL_RATIOS, tiers=tiers).tier == "4K"


def test_explicit_options_win_and_bad_ones_name_the_allowed() -> None:
    tiers = dict(TIER_MEGAPIXELS)
    shape = choose_shape(1000, 300, ratios=ALL_RATIOS, tiers=tiers, ratio="21:9", tier="2K")
    assert (shape.ratio, shape.tier) == ("21:9", "2K")
    with pytest.raises(ImagenError) as info:
        choose_shape(1024, 1024, ratios=ALL_RATIOS, tiers={"1K": 1.0}, tier="4K", who="g")
    assert info.value.code == ErrorCode.BAD_REQUEST and "g has no size 4K; allowed: 1K" in str(
        info.value
    )
    with pytest.raises(ImagenError) as info:
        choose_shape(1000, 300, ratios=("auto", "1:1", "16:9"), tiers=tiers, who="g")
    assert "allowed aspect ratios: 1:1, 16:9;" in info.value.detail


def test_huge_tiers_are_clamped_to_the_side_limit() -> None:
    width, height = nominal_size("8:1", 16.0)
    assert width <= MAX_SIDE and width / height == pytest.approx(8, rel=0.05)


def test_presets_skip_auto() -> None:
    assert preset_sizes(("auto", "1:1", "16:9"), 1024**2 / 1e6) == ("1024x1024", "1368x768")
