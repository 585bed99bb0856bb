"""Fooocus, SwarmUI, InvokeAI and NovelAI metadata, where they differ from A1111."""

from __future__ import annotations

import json
from pathlib import Path

from imagen_tui.backends.interop import Lora, read_recipe

from .conftest import png_with


def test_fooocus_loras_both_shapes(tmp_path: Path) -> None:
    data = {
        "prompt": "p",
        "negative_prompt": "n",
        "seed": "18446744073709551617",
        "base_model": "m",
        "guidance_scale": 3,
        "loras": [["a.safetensors", 0.5, "h"]],
        "lora_combined_1": "b.safetensors : 0.25",
        "styles": ["x", "y"],
    }
    got = read_recipe(png_with(tmp_path / "f.png", parameters=json.dumps(data)))
    assert (got.source, got.seed, got.cfg) == ("fooocus", 2**64 + 1, 3.0)
    assert got.loras == (Lora("a.safetensors", 0.5), Lora("b.safetensors", 0.25))
    assert got.extra["styles"] == '["x","y"]'


def test_fooocus_a1111_scheme_is_reported_as_fooocus(tmp_path: Path) -> None:
    text = "a cabin\nSteps: 30, Seed: 1, Sampler: dpmpp_2m, Version: Fooocus v2.5.5"
    got = read_recipe(png_with(tmp_path / "f.png", parameters=text))
    assert (got.source, got.prompt, got.steps) == ("fooocus", "a cabin", 30)


def test_swarmui(tmp_path: Path) -> None:
    data = {
        "sui_image_params": {
            "prompt": "a 猫",
            "negativeprompt": "dog",
            "seed": 305223794,
            "steps": 25,
            "cfgscale": 1.0,
            "model": "Flux/flux1-dev-fp8",
            "sampler": "euler",
            "scheduler": "normal",
            "loras": ["one", "two"],
            "loraweights": ["0.5", 1],
            "swarm_version": "0.9.1.1",
        },
        "sui_extra_data": {"date": "2024-08-07"},
    }
    got = read_recipe(png_with(tmp_path / "s.png", parameters=json.dumps(data)))
    assert (got.source, got.prompt, got.negative, got.seed) == ("swarmui", "a 猫", "dog", 305223794)
    assert (got.steps, got.cfg, got.model) == (25, 1.0, "Flux/flux1-dev-fp8")
    assert got.loras == (Lora("one", 0.5), Lora("two", 1.0))
    assert (got.extra["swarm_version"], got.extra["date"]) == ("0.9.1.1", "2024-08-07")


def test_invokeai_v3(tmp_path: Path) -> None:
    data = {
        "app_version": "3.3.0post3",
        "positive_prompt": "landscape",
        "negative_prompt": "low",
        "width": 768,
        "height": 432,
        "seed": 356120443,
        "cfg_scale": 7.5,
        "steps": 50,
        "scheduler": "dpmpp_2m_sde_k",
        "model": {"model_name": "amixx", "base_model": "sd-1"},
        "loras": [{"lora": {"model_name": "l1"}, "weight": 0.6}],
    }
    got = read_recipe(png_with(tmp_path / "i.png", invokeai_metadata=json.dumps(data)))
    assert (got.source, got.prompt, got.negative, got.seed) == (
        "invokeai",
        "landscape",
        "low",
        356120443,
    )
    assert (got.cfg, got.steps, got.scheduler, got.model) == (7.5, 50, "dpmpp_2m_sde_k", "amixx")
    assert got.loras == (Lora("l1", 0.6),) and (got.width, got.height) == (32, 24)


def test_invokeai_v2_sd_metadata(tmp_path: Path) -> None:
    data = {
        "model_weights": "sd-1.5",
        "image": {
            "prompt": [{"prompt": "a cat [dog, blur]", "weight": 1}],
            "seed": 9,
            "steps": 20,
            "cfg_scale": 7,
            "sampler": "k_lms",
        },
    }
    got = read_recipe(png_with(tmp_path / "i.png", **{"sd-metadata": json.dumps(data)}))
    assert (got.source, got.prompt, got.negative, got.seed) == ("invokeai", "a cat", "dog, blur", 9)
    assert (got.sampler, got.model) == ("k_lms", "sd-1.5")


def test_novelai_v3_comment_wins_over_description(tmp_path: Path) -> None:
    comment = {
        "prompt": "full prompt, 1girl",
        "uc": "lowres",
        "seed": 123,
        "steps": 28,
        "scale": 5.0,
        "sampler": "k_euler_ancestral",
        "noise_schedule": "native",
    }
    path = png_with(
        tmp_path / "n.png",
        Software="NovelAI",
        Description="short prompt",
        Source="Stable Diffusion XL C1E1DE52",
        Comment=json.dumps(comment),
    )
    got = read_recipe(path)
    assert (got.source, got.prompt, got.negative) == ("novelai", "full prompt, 1girl", "lowres")
    assert (got.seed, got.steps, got.cfg, got.sampler) == (123, 28, 5.0, "k_euler_ancestral")
    assert (got.model, got.model_hash, got.scheduler) == (
        "Stable Diffusion XL",
        "C1E1DE52",
        "native",
    )


def test_novelai_v4_captions(tmp_path: Path) -> None:
    comment = {
        "seed": 1,
        "v4_prompt": {
            "caption": {
                "base_caption": "a park",
                "char_captions": [{"char_caption": "girl, red coat"}],
            }
        },
        "v4_negative_prompt": {"caption": {"base_caption": "blurry"}},
    }
    path = png_with(
        tmp_path / "n.png", Software="NovelAI", Comment=json.dumps(comment), Description="a park"
    )
    got = read_recipe(path)
    assert (got.prompt, got.negative) == ("a park\ngirl, red coat", "blurry")


def test_novelai_without_comment_uses_description(tmp_path: Path) -> None:
    got = read_recipe(png_with(tmp_path / "n.png", Software="NovelAI", Description="just this"))
    assert (got.source, got.prompt, got.seed) == ("novelai", "just this", None)
