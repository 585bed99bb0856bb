"""ComfyUI workflow templates: load, check and fill `{{placeholders}}`. Pure except `load_workflow`.

A template is an API-format workflow (ComfyUI's "Export (API)": `{node_id: {"class_type",
"inputs"}}`, links as `["node_id", output_index]`; comfyanonymous/ComfyUI `execution.py`,
checked 2026-11-29). Placeholders are JSON strings such as `"{{prompt}}"`, `"{{seed}}"`,
`"{{ref0}}"`. A string that is exactly one placeholder is replaced by the typed value (numbers stay
numbers); a placeholder inside a longer string is replaced by its text. A template must hold
`{{prompt}}`; any problem is reported naming the template's file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ErrorCode, ImagenError

BUILTIN_SOURCE = "built-in txt2img template"
PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
REFERENCE = re.compile(r"ref(\d{1,2})")
NAMES = frozenset(
    {
        "prompt",
        "negative",
        "seed",
        "steps",
        "width",
        "height",
        "checkpoint",
        "cfg",
        "sampler",
        "scheduler",
    }
)
"""Placeholders a template may use besides `ref0`, `ref1`… (uploaded reference image names)."""
MAX_TEMPLATE_BYTES = 4 * 1024 * 1024

# CheckpointLoaderSimple outputs 0 MODEL, 1 CLIP, 2 VAE; shape from providers.md §4.
BUILTIN_TXT2IMG: dict[str, Any] = {
    "ckpt": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "{{checkpoint}}"}},
    "pos": {"class_type": "CLIPTextEncode", "inputs": {"text": "{{prompt}}", "clip": ["ckpt", 1]}},
    "neg": {
        "class_type": "CLIPTextEncode",
        "inputs": {"text": "{{negative}}", "clip": ["ckpt", 1]},
    },
    "latent": {
        "class_type": "EmptyLatentImage",
        "inputs": {"width": "{{width}}", "height": "{{height}}", "batch_size": 1},
    },
    "sample": {
        "class_type": "KSampler",
        "inputs": {
            "model": ["ckpt", 0],
            "positive": ["pos", 0],
            "negative": ["neg", 0],
            "latent_image": ["latent", 0],
            "seed": "{{seed}}",
            "steps": "{{steps}}",
            "cfg": "{{cfg}}",
            "sampler_name": "{{sampler}}",
            "scheduler": "{{scheduler}}",
            "denoise": 1.0,
        },
    },
    "decode": {"class_type": "VAEDecode", "inputs": {"samples": ["sample", 0], "vae": ["ckpt", 2]}},
    "save": {
        "class_type": "SaveImage",
        "inputs": {"images": ["decode", 0], "filename_prefix": "imagen-tui"},
    },
}


@dataclass(frozen=True, slots=True)
class Workflow:
    """A checked template: its graph, where it came from, and the placeholders it uses."""

    graph: Mapping[str, Any]
    source: str
    """The template's file path, or BUILTIN_SOURCE."""
    placeholders: frozenset[str]

    @property
    def reference_slots(self) -> int:
        """How many reference images it takes (`{{ref0}}`..`{{refN}}` → N+1; 0 when none)."""
        found = [int(m.group(1)) for p in self.placeholders if (m := REFERENCE.fullmatch(p))]
        return max(found) + 1 if found else 0

    def fail(self, why: str) -> ImagenError:
        return template_error(self.source, why)


def template_error(source: str, why: str) -> ImagenError:
    """The refusal of a template, naming its file."""
    return ImagenError(ErrorCode.BAD_REQUEST, f"workflow template {source}: {why}")


def builtin_workflow() -> Workflow:
    """The txt2img template used when an instance names no `workflow` file."""
    return parse_workflow(json.dumps(BUILTIN_TXT2IMG), BUILTIN_SOURCE)


def load_workflow(path: Path | None) -> Workflow:
    """Read and check a template file (blocking: call it off the event loop); None = built-in.

    Raises `ImagenError(BAD_REQUEST)` naming the file when it is missing, unreadable, too big,
    not JSON, not an API-format workflow, has no `{{prompt}}` or an unknown placeholder.
    """
    if path is None:
        return builtin_workflow()
    source = str(path)
    try:
        if path.stat().st_size > MAX_TEMPLATE_BYTES:
            raise template_error(source, f"larger than {MAX_TEMPLATE_BYTES // 1024 // 1024} MiB")
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise template_error(source, f"cannot be read ({why})") from None
    return parse_workflow(text, source)


def parse_workflow(text: str, source: str) -> Workflow:
    """Check a template's text (see `load_workflow` for what is refused)."""
    try:
        graph = json.loads(text)
    except json.JSONDecodeError as exc:
        raise template_error(
            source, f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    _check_graph(graph, source)
    found = frozenset(_placeholders(graph))
    unknown = sorted(p for p in found if p not in NAMES and not REFERENCE.fullmatch(p))
    if unknown:
        allowed = ", ".join(sorted(NAMES)) + ", ref0, ref1…"
        raise template_error(
            source, f"unknown placeholder {{{{{unknown[0]}}}}} (allowed: {allowed})"
        )
    if "prompt" not in found:
        raise template_error(source, 'has no "{{prompt}}" placeholder')
    return Workflow(graph, source, found)


def fill_workflow(workflow: Workflow, values: Mapping[str, Any]) -> dict[str, Any]:
    """A new graph with every placeholder replaced from `values` (the template is untouched).

    Raises the template's refusal when a placeholder has no value.
    """
    missing = sorted(p for p in workflow.placeholders if p not in values)
    if missing:
        raise workflow.fail(f"no value for {{{{{missing[0]}}}}}")
    filled: dict[str, Any] = _fill(workflow.graph, values)  # a Mapping fills to a dict
    return filled


def _check_graph(graph: Any, source: str) -> None:
    if isinstance(graph, dict) and "nodes" in graph and "links" in graph:
        raise template_error(
            source, "is a UI workflow; save it in API format (Workflow → Export (API))"
        )
    if not isinstance(graph, dict) or not graph:
        raise template_error(source, "must be a JSON object of nodes {id: {class_type, inputs}}")
    for node_id, node in graph.items():
        if not (
            isinstance(node, dict)
            and isinstance(node.get("class_type"), str)
            and isinstance(node.get("inputs", {}), dict)
        ):
            raise template_error(source, f"node {node_id!r} has no class_type/inputs")


def _placeholders(value: Any) -> list[str]:
    if isinstance(value, str):
        return PLACEHOLDER.findall(value)
    if isinstance(value, dict):
        return [p for v in value.values() for p in _placeholders(v)]
    if isinstance(value, list):
        return [p for v in value for p in _placeholders(v)]
    return []


def _fill(value: Any, values: Mapping[str, Any]) -> Any:
    if isinstance(value, str):
        whole = PLACEHOLDER.fullmatch(value)
        if whole:
            return values[whole.group(1)]
        return PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), value)
    if isinstance(value, Mapping):
        return {k: _fill(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, values) for v in value]
    return value
