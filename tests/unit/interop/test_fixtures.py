"""Every "want" of tests/data/interop/README.md, read through `read_recipe`."""

from __future__ import annotations

import json

import pytest

from imagen_tui.backends.interop import read_recipe
from imagen_tui.backends.store.pngmeta import import_metadata

from .conftest import fixture


@pytest.mark.parametrize("name", ["dp_template.png", "dp_template_multiline.png"])
def test_a1111_template_lines_are_their_own_fields(name: str) -> None:
    got = read_recipe(fixture(f"a1111-template-lines/{name}"))
    assert got.source == "a1111"
    assert (got.prompt, got.negative) == ("a red fox in the snow", "lowres, blurry")
    assert (got.seed, got.steps, got.width, got.height) == (1234, 20, 64, 48)
    assert (got.sampler, got.cfg, got.model_hash) == ("Euler a", 7.0, "0123abcd")
    assert got.extra["Negative Template"] == "lowres, blurry"
    template = got.extra["Template"]
    assert template.startswith("a {red|blue} fox") and template.endswith("in the snow")
    if "multiline" in name:
        assert template == "a {red|blue} fox\nin the snow"


def test_utf8_in_text_chunk() -> None:
    got = read_recipe(fixture("utf8-in-tEXt/utf8_in_tEXt.png"))
    assert (got.prompt, got.negative, got.seed) == ("テスト, 白い猫, café", "ぼやけた", 5)
    assert "テスト" in got.prompt


def test_fooocus_json_parameters_keep_a_huge_seed_exact() -> None:
    got = read_recipe(fixture("fooocus-json-parameters/fooocus.png"))
    assert got.source == "fooocus"
    assert (got.prompt, got.negative) == ("a cozy cabin in the woods", "blurry")
    assert got.seed == 8834915829939807712 and isinstance(got.seed, int)
    assert (got.steps, got.model) == (30, "juggernautXL_v8")
    assert (got.cfg, got.sampler, got.scheduler) == (4.0, "dpmpp_2m_sde_gpu", "karras")


def test_comfy_nan_input_imports_as_strict_json() -> None:
    path = fixture("comfy-nan-input/comfy_nan.png")
    got = read_recipe(path)
    assert got.source == "comfyui" and got.prompt == "a goldfish in a bowl"
    assert got.cfg is None  # the NaN
    meta = import_metadata(path)
    assert meta is not None
    text = json.dumps(meta, allow_nan=False)
    assert json.loads(text)["seed"] == 156680208700286
    assert json.dumps({**meta, "favourite": True}, allow_nan=False)


def test_comfy_sampler_custom_advanced() -> None:
    got = read_recipe(fixture("comfy-sampler-custom-advanced/sampler_custom_advanced.png"))
    assert (got.source, got.prompt, got.negative) == ("comfyui", "a lighthouse in a storm", "")
    assert (got.seed, got.steps, got.width, got.height) == (987654321, 28, 1024, 768)
    assert (got.model, got.sampler, got.scheduler) == ("flux1-dev.safetensors", "euler", "simple")
    assert got.extra["Guidance"] == "3.5"


@pytest.mark.parametrize("name", ["concat.png", "combine.png"])
def test_comfy_conditioning_concat_and_combine(name: str) -> None:
    got = read_recipe(fixture(f"comfy-conditioning-concat/{name}"))
    assert "a castle on a hill" in got.prompt and "golden hour, volumetric fog" in got.prompt
    assert "volumetric" in got.prompt and got.negative == "blurry"


def test_comfy_workflow_only() -> None:
    got = read_recipe(fixture("comfy-workflow-only/workflow_only.png"))
    assert got.source == "comfyui"
    assert (got.prompt, got.negative) == ("a goldfish in a glass bowl", "text, watermark")
    assert (got.seed, got.steps, got.width, got.height) == (156680208700286, 20, 512, 512)
    assert got.model == "dreamshaper_8.safetensors"
    assert (got.cfg, got.sampler, got.scheduler) == (8.0, "euler", "normal")


def test_big_compressed_text_chunk_is_imported() -> None:
    got = read_recipe(fixture("big-compressed-text-chunk/big_itxt.png"))
    assert (got.source, got.prompt, got.seed) == ("a1111", "a snowy owl", 77)
    assert got.raw["workflow"].startswith('{"last_node_id": 9')
    assert got.raw["workflow"].endswith("more characters]")  # kept, but cut at MAX_RAW_CHARS
    assert got.problem is None


@pytest.mark.parametrize("name", ["a1111.jpg", "a1111.webp"])
def test_exif_user_comment_in_jpeg_and_webp(name: str) -> None:
    got = read_recipe(fixture(f"exif-usercomment-jpeg-webp/{name}"))
    assert got.source == "a1111"
    assert (got.prompt, got.negative) == ("a misty forest path", "oversaturated")
    assert (got.seed, got.steps, got.width, got.height) == (31337, 30, 64, 48)
    assert got.sampler == "DPM++ 2M"


def test_viewer_panel_embedded_metadata() -> None:
    path = fixture("viewer-panel-embedded-metadata/a1111_no_sidecar.png")
    got = read_recipe(path)
    assert (got.prompt, got.negative, got.model) == ("a lantern in fog", "blurry", "sd15")
    assert (got.seed, got.steps, got.width, got.height) == (4242, 20, 64, 48)
    meta = import_metadata(path)
    assert meta is not None
    assert (meta["prompt"], meta["negative"], meta["model"]) == (
        "a lantern in fog",
        "blurry",
        "sd15",
    )
    assert (meta["seed"], meta["steps"], meta["width"], meta["height"]) == (4242, 20, 64, 48)


@pytest.mark.parametrize("name", ["plain.png", "plain.jpg", "plain.webp", "comfy_unknown.png"])
def test_zero_dimensions_never(name: str) -> None:
    path = fixture(f"zero-dimensions/{name}")
    got = read_recipe(path)
    assert (got.width, got.height) == (640, 360)
    meta = import_metadata(path)
    assert meta is not None and (meta["width"], meta["height"]) == (640, 360)


def test_unknown_comfy_graph_says_why() -> None:
    got = read_recipe(fixture("zero-dimensions/comfy_unknown.png"))
    assert got.source == "comfyui" and got.prompt == ""
    assert got.problem is not None and "sampler" in got.problem


def test_16bit_gray_has_no_recipe_but_a_size() -> None:
    got = read_recipe(fixture("16bit-gray-thumbnail/gray16.png"))
    assert (got.source, got.width, got.height, got.problem) == ("none", 256, 64, None)
