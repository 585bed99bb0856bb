"""ComfyUI API-format `prompt` graphs: follow the links from the sampler actually used.

Graph shape (ComfyUI `execution.py` / `server.py` `/prompt`, https://github.com/comfyanonymous/
ComfyUI, read 2026-11-29): {node_id: {"class_type": str, "inputs": {name: literal or
[source_node_id, output_slot]}}}. The sampler is KSampler, KSamplerAdvanced, SamplerCustom,
SamplerCustomAdvanced (whose `noise`, `guider`, `sampler` and `sigmas` inputs are nodes), or an
unknown class recognised by its inputs. The one used is the sampler nearest to an image output
(SaveImage, PreviewImage…) going back along links; text comes from following its conditioning
through combine/concat/set-area nodes to the text encoders and on to primitive/string nodes.
`ConditioningZeroOut` stands for an empty prompt; a node with both a positive and a negative
input (ControlNetApplyAdvanced, Efficiency loaders) is followed on the side being read.
Cycles, deep chains and diamond-shaped graphs are bounded.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from .recipe import Fields, Lora, to_float

Graph = dict[str, dict[str, Any]]
SAMPLER_CLASSES = frozenset(
    {"KSampler", "KSamplerAdvanced", "SamplerCustom", "SamplerCustomAdvanced"}
)
_SAMPLER_HINTS = ("seed", "noise_seed", "steps", "sampler_name", "sampler")
_TEXT_KEYS = ("populated_text", "text", "text_g", "text_l", "t5xxl", "clip_l", "clip_g", "prompt")
_STRING_KEYS = ("text", "string", "value", "prompt", "populated_text", "STRING", "Text")
_LITERAL_KEYS = ("value", "seed", "noise_seed", "int", "number", "float", "Value")
_MODEL_KEYS = ("ckpt_name", "unet_name", "model_name", "base_ckpt_name", "model_path")
_NOT_CONDITIONING = frozenset(
    {"clip", "model", "vae", "image", "images", "pixels", "mask", "control_net", "clip_vision",
     "clip_vision_output", "style_model", "samples", "latent", "latent_image", "upscale_model",
     "noise", "sigmas", "sampler", "guider"}
)  # fmt: skip
_MAX_DEPTH = 48
_MAX_VISITS = 512  # nodes one lookup may visit


def graph_nodes(value: Any) -> Graph | None:
    """The well-formed nodes of a parsed `prompt` chunk, or None if it is not a graph."""
    if not isinstance(value, dict):
        return None
    nodes = {
        str(nid): node
        for nid, node in value.items()
        if isinstance(node, dict) and isinstance(node.get("class_type"), str)
    }
    for node in nodes.values():
        if not isinstance(node.get("inputs"), dict):
            node["inputs"] = {}
    return nodes or None


def _link(graph: Graph, value: Any) -> tuple[str, int] | None:
    if isinstance(value, list) and len(value) == 2 and str(value[0]) in graph:
        return str(value[0]), value[1] if isinstance(value[1], int) else 0
    return None


def _visit(graph: Graph, value: Any, seen: set[str]) -> str | None:
    """The id of the node `value` links to, marked seen; None when it is no link, was seen
    already, or the walk has visited too many nodes (a crafted graph stays linear)."""
    target = _link(graph, value)
    if target is None or target[0] in seen or len(seen) > _MAX_VISITS:
        return None
    seen.add(target[0])
    return target[0]


def _plain(value: Any) -> bool:
    return isinstance(value, str | int | float) and not isinstance(value, bool)


def literal(
    graph: Graph, value: Any, keys: tuple[str, ...] = (), seen: set[str] | None = None
) -> Any:
    """A literal input value, following links to primitive/seed nodes; None if there is none.
    Each node is visited once, so a crafted graph cannot make this exponential."""
    if _plain(value):
        return value
    seen = set() if seen is None else seen
    if (node_id := _visit(graph, value, seen)) is None:
        return None
    inputs = graph[node_id]["inputs"]
    for key in (*keys, *_LITERAL_KEYS):
        if key in inputs and (found := literal(graph, inputs[key], keys, seen)) is not None:
            return found
    return None


def text_value(graph: Graph, value: Any, seen: set[str] | None = None) -> str | None:
    """A string input, following links through string/primitive nodes and concatenations.
    Each node is visited once per call."""
    if isinstance(value, str):
        return value
    seen = set() if seen is None else seen
    if (node_id := _visit(graph, value, seen)) is None:
        return None
    inputs = graph[node_id]["inputs"]
    for key in _STRING_KEYS:
        if key in inputs and (found := text_value(graph, inputs[key], seen)) is not None:
            return found
    parts = [
        text_value(graph, v, seen)
        for k, v in inputs.items()
        if k.lower().startswith(("string", "text"))
    ]
    delimiter = inputs.get("delimiter")
    joined = (delimiter if isinstance(delimiter, str) else "").join(p for p in parts if p)
    return joined or None


def conditioning_texts(
    graph: Graph, value: Any, side: str = "positive", seen: set[str] | None = None
) -> list[str]:
    """The prompt texts feeding the `side` ("positive"/"negative") conditioning input `value`,
    in input order, without repeats. A node with both a positive and a negative input
    (ControlNetApplyAdvanced, loaders that hold both prompts) is followed on `side` only."""
    seen = set() if seen is None else seen
    if (node_id := _visit(graph, value, seen)) is None:
        return []
    node = graph[node_id]
    inputs = node["inputs"]
    if node["class_type"] == "ConditioningZeroOut":
        return []
    texts = [t for k in _TEXT_KEYS if k in inputs and (t := text_value(graph, inputs[k]))]
    if texts:
        return list(dict.fromkeys(texts))
    if "positive" in inputs and "negative" in inputs:
        chosen = inputs[side]
        text = chosen if isinstance(chosen, str) else None
        return [text] if text else conditioning_texts(graph, chosen, side, seen)
    found: list[str] = []
    for key, val in inputs.items():
        if key not in _NOT_CONDITIONING:
            found += [t for t in conditioning_texts(graph, val, side, seen) if t not in found]
    return found


def is_sampler(node: dict[str, Any]) -> bool:
    """A known sampler class, or any node whose inputs look like one."""
    if node["class_type"] in SAMPLER_CLASSES:
        return True
    inputs = node["inputs"]
    if "guider" in inputs and "sigmas" in inputs:
        return True
    has_conditioning = "positive" in inputs and "negative" in inputs
    return has_conditioning and any(k in inputs for k in _SAMPLER_HINTS)


def _is_output(node: dict[str, Any]) -> bool:
    name = node["class_type"].lower()
    return "images" in node["inputs"] and ("save" in name or "preview" in name)


def find_sampler(graph: Graph) -> dict[str, Any] | None:
    """The sampler nearest to an image output (breadth-first back along links); else the
    sampler with the lowest node id; None if the graph has no sampler."""
    queue = deque(nid for nid, node in graph.items() if _is_output(node))
    seen = set(queue)
    while queue:
        node = graph[queue.popleft()]
        if is_sampler(node):
            return node
        for value in node["inputs"].values():
            if (target := _link(graph, value)) and target[0] not in seen:
                seen.add(target[0])
                queue.append(target[0])
    samplers = [nid for nid, node in graph.items() if is_sampler(node)]
    key = lambda nid: (not nid.isdigit(), int(nid) if nid.isdigit() else 0, nid)  # noqa: E731
    return graph[min(samplers, key=key)] if samplers else None


def _node(graph: Graph, value: Any) -> dict[str, Any] | None:
    target = _link(graph, value)
    return graph[target[0]] if target else None


def model_chain(graph: Graph, value: Any) -> tuple[str | None, list[Lora]]:
    """(checkpoint/UNet name, LoRAs on the way) following `model` links up from `value`."""
    loras: list[Lora] = []
    for _ in range(_MAX_DEPTH):
        node = _node(graph, value)
        if node is None:
            break
        inputs = node["inputs"]
        for key in _MODEL_KEYS:
            if isinstance(name := literal(graph, inputs.get(key)), str):
                return name, loras
        if isinstance(lora := literal(graph, inputs.get("lora_name")), str):
            loras.append(Lora(lora, to_float(literal(graph, inputs.get("strength_model")))))
        value = inputs.get("model")
    return None, loras


def _first(graph: Graph, nodes: list[dict[str, Any] | None], *keys: str) -> Any:
    for node in nodes:
        if not node:
            continue
        for key in keys:
            if (found := literal(graph, node["inputs"].get(key))) is not None:
                return found
    return None


def _guidance(graph: Graph, value: Any) -> Any:
    seen: set[str] = set()
    for _ in range(_MAX_DEPTH):
        target = _link(graph, value)
        if target is None or target[0] in seen:
            return None
        seen.add(target[0])
        inputs = graph[target[0]]["inputs"]
        if _plain(inputs.get("guidance")):
            return inputs["guidance"]
        value = inputs.get("conditioning")
    return None


def sampler_fields(graph: Graph, sampler: dict[str, Any]) -> Fields:
    """Recipe fields read from one sampler node and what its inputs link to."""
    inputs = sampler["inputs"]
    guider = _node(graph, inputs.get("guider"))
    g_inputs = guider["inputs"] if guider else {}
    noise, sigmas = _node(graph, inputs.get("noise")), _node(graph, inputs.get("sigmas"))
    pick = _node(graph, inputs.get("sampler"))
    positive = inputs.get("positive", g_inputs.get("positive", g_inputs.get("conditioning")))
    positive = positive if positive is not None else g_inputs.get("cond1")
    negative = inputs.get("negative", g_inputs.get("negative"))
    model, loras = model_chain(graph, inputs.get("model", g_inputs.get("model")))
    sampler_name = _first(graph, [sampler, pick], "sampler_name")
    scheduler = _first(graph, [sampler, sigmas], "scheduler")
    if scheduler is None and sigmas is not None:
        scheduler = sigmas["class_type"]
    extra = {
        "Comfy sampler": sampler["class_type"],
        "Denoise": _first(graph, [sampler, sigmas], "denoise"),
        "Guidance": _guidance(graph, positive),
    }
    return {
        "prompt": "\n".join(conditioning_texts(graph, positive, "positive")),
        "negative": "\n".join(conditioning_texts(graph, negative, "negative")),
        "seed": _first(graph, [sampler, noise], "seed", "noise_seed"),
        "steps": _first(graph, [sampler, sigmas], "steps"),
        "cfg": _first(graph, [sampler, guider], "cfg"),
        "sampler": sampler_name if sampler_name is not None else pick and pick["class_type"],
        "scheduler": scheduler,
        "model": model,
        "loras": loras,
        "extra": {k: v for k, v in extra.items() if v is not None},
    }


def graph_fields(value: Any) -> Fields | None:
    """Recipe fields of a parsed ComfyUI `prompt` graph, or None if it has no sampler."""
    graph = graph_nodes(value)
    sampler = find_sampler(graph) if graph else None
    return sampler_fields(graph, sampler) if graph and sampler else None
