"""ComfyUI graph walking (API `prompt`) and UI `workflow` conversion."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from imagen_tui.backends.interop import Lora, read_recipe
from imagen_tui.backends.interop.comfy_graph import find_sampler, graph_fields, graph_nodes
from imagen_tui.backends.interop.comfy_workflow import workflow_graph

from .conftest import png_with


def node(class_type: str, **inputs: Any) -> dict[str, Any]:
    return {"class_type": class_type, "inputs": inputs}


BASE = {
    "4": node("CheckpointLoaderSimple", ckpt_name="sdxl.safetensors"),
    "10": node(
        "LoraLoader",
        model=["4", 0],
        clip=["4", 1],
        lora_name="detail.safetensors",
        strength_model=0.7,
        strength_clip=1.0,
    ),
    "5": node("EmptyLatentImage", width=1024, height=1024, batch_size=1),
    "6": node("CLIPTextEncode", text="a red fox", clip=["10", 1]),
    "7": node("CLIPTextEncode", text="blurry", clip=["10", 1]),
    "9": node("SaveImage", images=["8", 0], filename_prefix="x"),
    "8": node("VAEDecode", samples=["3", 0], vae=["4", 2]),
}


def fields(graph: dict[str, Any]) -> dict[str, Any]:
    got = graph_fields(json.loads(json.dumps(graph)))
    assert got is not None
    return got


def test_ksampler_advanced_with_lora_chain() -> None:
    graph = {
        **BASE,
        "3": node(
            "KSamplerAdvanced",
            noise_seed=5,
            steps=30,
            cfg=6.5,
            sampler_name="euler",
            scheduler="karras",
            model=["10", 0],
            positive=["6", 0],
            negative=["7", 0],
            latent_image=["5", 0],
        ),
    }
    got = fields(graph)
    assert (got["prompt"], got["negative"], got["seed"], got["steps"]) == (
        "a red fox",
        "blurry",
        5,
        30,
    )
    assert (got["model"], got["loras"]) == ("sdxl.safetensors", [Lora("detail.safetensors", 0.7)])
    assert (got["cfg"], got["sampler"], got["scheduler"]) == (6.5, "euler", "karras")


def test_sampler_custom_with_cfg_guider_and_karras_sigmas() -> None:
    graph = {
        **BASE,
        "3": node(
            "SamplerCustomAdvanced",
            noise=["20", 0],
            guider=["21", 0],
            sampler=["22", 0],
            sigmas=["23", 0],
            latent_image=["5", 0],
        ),
        "20": node("RandomNoise", noise_seed=["24", 0]),
        "24": node("PrimitiveInt", value=123456789012345678901234),
        "21": node("CFGGuider", model=["10", 0], positive=["6", 0], negative=["7", 0], cfg=4.5),
        "22": node("SamplerEulerAncestral", eta=1.0),
        "23": node("KarrasScheduler", steps=12, sigma_max=14.6),
    }
    got = fields(graph)
    assert (got["seed"], got["steps"], got["cfg"]) == (123456789012345678901234, 12, 4.5)
    assert (got["sampler"], got["scheduler"]) == ("SamplerEulerAncestral", "KarrasScheduler")
    assert (got["prompt"], got["negative"], got["model"]) == (
        "a red fox",
        "blurry",
        "sdxl.safetensors",
    )


def test_unknown_sampler_class_found_by_its_inputs() -> None:
    graph = {
        **BASE,
        "3": node(
            "KSampler (Efficient)",
            seed=7,
            steps=9,
            cfg=5,
            model=["10", 0],
            positive=["6", 0],
            negative=["7", 0],
            latent_image=["5", 0],
        ),
    }
    got = fields(graph)
    assert (got["seed"], got["steps"], got["prompt"]) == (7, 9, "a red fox")


def test_zero_out_negative_is_empty_not_the_positive() -> None:
    graph = {
        **BASE,
        "11": node("ConditioningZeroOut", conditioning=["6", 0]),
        "3": node(
            "KSampler",
            seed=1,
            steps=2,
            model=["4", 0],
            positive=["6", 0],
            negative=["11", 0],
            latent_image=["5", 0],
        ),
    }
    got = fields(graph)
    assert (got["prompt"], got["negative"]) == ("a red fox", "")


def test_controlnet_apply_advanced_splits_positive_and_negative() -> None:
    graph = {
        **BASE,
        "12": node(
            "ControlNetApplyAdvanced",
            positive=["6", 0],
            negative=["7", 0],
            control_net=["13", 0],
            image=["14", 0],
            strength=0.8,
        ),
        "3": node(
            "KSampler",
            seed=1,
            steps=2,
            model=["4", 0],
            positive=["12", 0],
            negative=["12", 1],
            latent_image=["5", 0],
        ),
    }
    got = fields(graph)
    assert (got["prompt"], got["negative"]) == ("a red fox", "blurry")


def test_text_from_primitive_and_concatenated_string_nodes() -> None:
    graph = {
        **BASE,
        "6": node("CLIPTextEncodeSDXL", text_g=["30", 0], text_l=["30", 0], clip=["4", 1]),
        "30": node("StringConcatenate", string_a=["31", 0], string_b="in snow", delimiter=", "),
        "31": node("PrimitiveStringMultiline", value="a fox"),
        "3": node(
            "KSampler",
            seed=1,
            steps=2,
            model=["4", 0],
            positive=["6", 0],
            negative=["7", 0],
            latent_image=["5", 0],
        ),
    }
    assert fields(graph)["prompt"] == "a fox, in snow"


def test_sampler_nearest_the_output_wins() -> None:
    graph = {
        **BASE,
        "3": node(
            "KSampler",
            seed=1,
            steps=20,
            model=["4", 0],
            positive=["6", 0],
            negative=["7", 0],
            latent_image=["5", 0],
        ),
        "15": node(
            "KSampler",
            seed=2,
            steps=10,
            model=["4", 0],
            positive=["6", 0],
            negative=["7", 0],
            latent_image=["3", 0],
            denoise=0.5,
        ),
        "8": node("VAEDecode", samples=["15", 0], vae=["4", 2]),
        "2": node(
            "KSampler",
            seed=3,
            steps=5,
            model=["4", 0],
            positive=["7", 0],
            negative=["6", 0],
            latent_image=["5", 0],
        ),
    }
    nodes = graph_nodes(graph)
    assert nodes is not None
    assert find_sampler(nodes) is nodes["15"]
    assert fields(graph)["seed"] == 2


def test_cycles_and_junk_do_not_hang_or_raise() -> None:
    loop = {
        "1": node("KSampler", positive=["2", 0], negative=["1", 0], seed=["2", 0], model=["3", 0]),
        "2": node("ConditioningCombine", conditioning_1=["2", 0], conditioning_2=["1", 0]),
        "3": node("LoraLoader", model=["3", 0], lora_name="x"),
        "4": "not a node",
        "5": {"class_type": 5},
    }
    got = fields(loop)
    assert (got["prompt"], got["seed"], got["model"]) == ("", None, None)
    assert graph_fields([1, 2]) is None and graph_fields({}) is None


WORKFLOW = {
    "nodes": [
        {
            "id": 3,
            "type": "KSampler",
            "mode": 0,
            "inputs": [
                {"name": "model", "link": 1},
                {"name": "positive", "link": 4},
                {"name": "negative", "link": 6},
                {"name": "seed", "link": 9, "widget": {"name": "seed"}},
            ],
            "widgets_values": [1, "randomize", 25, 6, "dpmpp_2m", "karras", 1],
        },
        {"id": 4, "type": "CheckpointLoaderSimple", "widgets_values": ["base.safetensors"]},
        {
            "id": 11,
            "type": "LoraLoader",
            "mode": 4,
            "inputs": [{"name": "model", "link": 2}],
            "widgets_values": ["muted-lora.safetensors", 1, 1],
        },
        {"id": 6, "type": "CLIPTextEncode", "widgets_values": ["a lantern, 提灯"]},
        {"id": 7, "type": "CLIPTextEncode", "widgets_values": ["dark"]},
        {"id": 8, "type": "PrimitiveNode", "widgets_values": [4242, "fixed"]},
        {"id": 12, "type": "CLIPTextEncode", "mode": 2, "widgets_values": ["muted"]},
    ],
    "links": [
        {"id": 1, "origin_id": 11, "origin_slot": 0, "target_id": 3, "target_slot": 0},
        {"id": 2, "origin_id": 4, "origin_slot": 0, "target_id": 11, "target_slot": 0},
        [4, 6, 0, 3, 1, "CONDITIONING"],
        [6, 7, 0, 3, 2, "CONDITIONING"],
        [9, 8, 0, 3, 4, "INT"],
    ],
}


def test_workflow_links_widgets_primitives_bypass_and_mute() -> None:
    graph = workflow_graph(WORKFLOW)
    assert graph is not None and "12" not in graph
    assert graph["3"]["inputs"]["seed"] == ["8", 0]
    got = fields(graph)
    assert (got["prompt"], got["negative"], got["seed"]) == ("a lantern, 提灯", "dark", 4242)
    assert (got["steps"], got["cfg"], got["sampler"], got["scheduler"]) == (
        25,
        6,
        "dpmpp_2m",
        "karras",
    )
    assert (got["model"], got["loras"]) == ("base.safetensors", [])
    assert workflow_graph({"nodes": "x"}) is None and workflow_graph([]) is None


def test_workflow_chunk_read_when_no_prompt_chunk(tmp_path: Path) -> None:
    path = png_with(tmp_path / "w.png", workflow=json.dumps(WORKFLOW, ensure_ascii=False))
    got = read_recipe(path)
    assert (got.source, got.prompt, got.seed, got.width) == ("comfyui", "a lantern, 提灯", 4242, 32)


def test_prompt_chunk_with_nan_and_infinity(tmp_path: Path) -> None:
    graph = json.dumps(
        {
            **BASE,
            "3": node(
                "KSampler",
                seed=1,
                steps=2,
                cfg=float("nan"),
                denoise=float("inf"),
                model=["4", 0],
                positive=["6", 0],
                negative=["7", 0],
                latent_image=["5", 0],
            ),
        }
    )
    assert "NaN" in graph and "Infinity" in graph
    got = read_recipe(png_with(tmp_path / "n.png", prompt=graph))
    assert (got.prompt, got.cfg, got.seed) == ("a red fox", None, 1)
    assert "Denoise" not in got.extra


def test_diamond_chains_are_walked_once_per_node() -> None:
    # 2**60 paths if each node were followed once per link: must still finish at once.
    graph = {
        str(i): node(
            "StringConcatenate",
            string_a=[str(i + 1), 0],
            string_b=[str(i + 1), 0],
            value=[str(i + 1), 0],
            seed=[str(i + 1), 0],
        )
        for i in range(60)
    }
    graph["60"] = node("PrimitiveString", value="end")
    graph["s"] = node("KSampler", seed=["0", 0], steps=1, positive=["e", 0], negative=["e", 0])
    graph["e"] = node("CLIPTextEncode", text=["0", 0])
    got = fields(graph)
    assert (got["prompt"], got["seed"]) == ("end", "end")


def test_loader_node_holding_both_prompts() -> None:
    graph = {
        "1": node("Efficient Loader", ckpt_name="eff.safetensors", positive="a red fox",
                  negative="blurry", empty_latent_width=512),
        "2": node("KSampler (Efficient)", seed=5, steps=20, model=["1", 0], positive=["1", 1],
                  negative=["1", 2], latent_image=["1", 3]),
    }  # fmt: skip
    got = fields(graph)
    assert (got["prompt"], got["negative"], got["model"]) == (
        "a red fox",
        "blurry",
        "eff.safetensors",
    )
