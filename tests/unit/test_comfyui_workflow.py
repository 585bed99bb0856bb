"""ComfyUI workflow templates: typed placeholders, the built-in txt2img, refusals by file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from imagen_tui.backends.adapters.comfyui_workflow import (
    BUILTIN_SOURCE,
    builtin_workflow,
    fill_workflow,
    load_workflow,
    parse_workflow,
)
from imagen_tui.backends.errors import ErrorCode, ImagenError

VALUES: dict[str, Any] = {
    "prompt": "a red fox",
    "negative": "blurry",
    "seed": 42,
    "steps": 20,
    "width": 832,
    "height": 1216,
    "checkpoint": "sd_xl_base_1.0.safetensors",
    "cfg": 6.5,
    "sampler": "euler",
    "scheduler": "karras",
}


def write(tmp_path: Path, graph: Any, name: str = "flow.json") -> Path:
    path = tmp_path / name
    path.write_text(graph if isinstance(graph, str) else json.dumps(graph))
    return path


def test_builtin_template_fills_with_typed_values() -> None:
    workflow = builtin_workflow()
    assert workflow.source == BUILTIN_SOURCE and workflow.reference_slots == 0
    graph = fill_workflow(workflow, VALUES)
    sample = graph["sample"]["inputs"]
    assert sample["seed"] == 42 and isinstance(sample["seed"], int)
    assert sample["steps"] == 20 and sample["cfg"] == 6.5
    assert sample["sampler_name"] == "euler" and sample["scheduler"] == "karras"
    assert graph["latent"]["inputs"] == {"width": 832, "height": 1216, "batch_size": 1}
    assert graph["pos"]["inputs"]["text"] == "a red fox"
    assert graph["neg"]["inputs"]["text"] == "blurry"
    assert graph["ckpt"]["inputs"]["ckpt_name"] == "sd_xl_base_1.0.safetensors"
    assert graph["sample"]["inputs"]["model"] == ["ckpt", 0]  # links untouched
    assert "{{" not in json.dumps(graph)


def test_fill_leaves_the_template_untouched() -> None:
    workflow = builtin_workflow()
    fill_workflow(workflow, VALUES)
    assert workflow.graph["sample"]["inputs"]["seed"] == "{{seed}}"


def test_placeholder_inside_a_longer_string_becomes_text(tmp_path: Path) -> None:
    graph = {
        "1": {
            "class_type": "CLIPTextEncode",
            "inputs": {"text": "photo of {{prompt}}, {{ seed }}"},
        },
        "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0]}},
    }
    workflow = load_workflow(write(tmp_path, graph))
    assert fill_workflow(workflow, VALUES)["1"]["inputs"]["text"] == "photo of a red fox, 42"


def test_prompt_text_with_braces_is_not_re_expanded() -> None:
    graph = fill_workflow(builtin_workflow(), {**VALUES, "prompt": "{{seed}} literally"})
    assert graph["pos"]["inputs"]["text"] == "{{seed}} literally"


def test_reference_slots(tmp_path: Path) -> None:
    graph = {
        "a": {"class_type": "LoadImage", "inputs": {"image": "{{ref0}}"}},
        "b": {"class_type": "LoadImage", "inputs": {"image": "{{ref1}}"}},
        "t": {"class_type": "CLIPTextEncode", "inputs": {"text": "{{prompt}}"}},
    }
    workflow = load_workflow(write(tmp_path, graph))
    assert workflow.reference_slots == 2
    filled = fill_workflow(workflow, {**VALUES, "ref0": "x.png", "ref1": "y.png"})
    assert filled["a"]["inputs"]["image"] == "x.png" and filled["b"]["inputs"]["image"] == "y.png"


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ('{"1": {"class_type": "X", "inputs": {', "invalid JSON at line 1"),
        ({"1": {"class_type": "KSampler", "inputs": {"seed": "{{seed}}"}}}, 'no "{{prompt}}"'),
        ({"1": {"class_type": "T", "inputs": {"text": "{{prompt}} {{colour}}"}}}, "{{colour}}"),
        ({"nodes": [], "links": [], "version": 0.4}, "UI workflow"),
        ([1, 2], "JSON object of nodes"),
        ({}, "JSON object of nodes"),
        ({"1": {"inputs": {"text": "{{prompt}}"}}}, "node '1' has no class_type"),
    ],
)
def test_bad_templates_are_refused_naming_the_file(
    tmp_path: Path, content: Any, words: str
) -> None:
    path = write(tmp_path, content)
    with pytest.raises(ImagenError) as info:
        load_workflow(path)
    assert info.value.code == ErrorCode.BAD_REQUEST
    assert str(path) in info.value.detail and words in info.value.detail


def test_missing_file_is_refused_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ImagenError) as info:
        load_workflow(tmp_path / "nope.json")
    assert "nope.json" in info.value.detail and "cannot be read" in info.value.detail


def test_fill_without_a_value_names_the_placeholder() -> None:
    workflow = parse_workflow(
        json.dumps(
            {"1": {"class_type": "LoadImage", "inputs": {"image": "{{ref0}}", "t": "{{prompt}}"}}}
        ),
        "mine.json",
    )
    with pytest.raises(ImagenError) as info:
        fill_workflow(workflow, VALUES)
    assert "mine.json" in info.value.detail and "{{ref0}}" in info.value.detail


def test_the_recorded_workflow_is_a_valid_template_once_it_has_a_prompt() -> None:
    recorded = Path(__file__).parents[1] / "fakes/recorded/comfyui/basic.json"
    graph = json.loads(recorded.read_text())["request"]["prompt"]
    with pytest.raises(ImagenError):
        parse_workflow(json.dumps(graph), "basic.json")  # no {{prompt}}: refused
    graph["3"]["inputs"]["filename_prefix"] = "{{prompt}}"
    assert parse_workflow(json.dumps(graph), "basic.json").placeholders == {"prompt"}
