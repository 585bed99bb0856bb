"""ComfyUI UI-format `workflow` chunks, turned into an API-format graph for `comfy_graph`.

Used when a PNG has a `workflow` chunk but no `prompt` chunk. Shape (ComfyUI frontend
`LGraph.serialize`, https://github.com/Comfy-Org/ComfyUI_frontend, read 2026-11-29):
{"nodes": [{"id", "type", "mode", "inputs": [{"name", "link", "widget"?}], "widgets_values":
[...] or {...}}], "links": [[id, origin_id, origin_slot, target_id, target_slot, type]] or
[{"id", "origin_id", "origin_slot", ...}]}. Widget values are positional, named here for the
core nodes from their INPUT_TYPES order in ComfyUI's `nodes.py` / `comfy_extras`; a seed widget
may be followed by the UI-only "control after generate" value, which is skipped.
Muted nodes (mode 2) are dropped; bypassed ones (mode 4) keep their links only, so a chain
passes through them.
"""

from __future__ import annotations

from typing import Any

_SEEDS = ("seed", "noise_seed")
_CONTROL = frozenset({"fixed", "increment", "decrement", "randomize"})
_LATENT = ("width", "height", "batch_size")
_PRIMITIVE = ("value",)
WIDGETS: dict[str, tuple[str, ...]] = {
    "KSampler": ("seed", "steps", "cfg", "sampler_name", "scheduler", "denoise"),
    "KSamplerAdvanced": ("add_noise", "noise_seed", "steps", "cfg", "sampler_name", "scheduler",
                         "start_at_step", "end_at_step", "return_with_leftover_noise"),
    "SamplerCustom": ("add_noise", "noise_seed", "cfg"),
    "RandomNoise": ("noise_seed",),
    "KSamplerSelect": ("sampler_name",),
    "BasicScheduler": ("scheduler", "steps", "denoise"),
    "KarrasScheduler": ("steps", "sigma_max", "sigma_min", "rho"),
    "CFGGuider": ("cfg",),
    "FluxGuidance": ("guidance",),
    "CheckpointLoaderSimple": ("ckpt_name",),
    "CheckpointLoader": ("config_name", "ckpt_name"),
    "UNETLoader": ("unet_name", "weight_dtype"),
    "LoraLoader": ("lora_name", "strength_model", "strength_clip"),
    "LoraLoaderModelOnly": ("lora_name", "strength_model"),
    "CLIPTextEncode": ("text",),
    "CLIPTextEncodeSDXL": ("width", "height", "crop_w", "crop_h", "target_width",
                           "target_height", "text_g", "text_l"),
    "CLIPTextEncodeSDXLRefiner": ("ascore", "width", "height", "text"),
    "CLIPTextEncodeFlux": ("clip_l", "t5xxl", "guidance"),
    "EmptyLatentImage": _LATENT,
    "EmptySD3LatentImage": _LATENT,
    "PrimitiveNode": _PRIMITIVE,
    "PrimitiveString": _PRIMITIVE,
    "PrimitiveStringMultiline": _PRIMITIVE,
    "PrimitiveInt": _PRIMITIVE,
    "PrimitiveFloat": _PRIMITIVE,
}  # fmt: skip
_MAX_NODES = 5_000


def _links(workflow: dict[str, Any]) -> dict[Any, tuple[str, int]]:
    """{link id: (origin node id, origin slot)} from either link encoding."""
    out: dict[Any, tuple[str, int]] = {}
    for link in workflow.get("links") or ():
        if isinstance(link, list) and len(link) >= 3:
            out[link[0]] = (str(link[1]), link[2] if isinstance(link[2], int) else 0)
        elif isinstance(link, dict) and "id" in link:
            slot = link.get("origin_slot")
            out[link["id"]] = (str(link.get("origin_id")), slot if isinstance(slot, int) else 0)
    return out


def _widget_inputs(node_type: str, values: Any) -> dict[str, Any]:
    if isinstance(values, dict):
        return {str(k): v for k, v in values.items()}
    if not isinstance(values, list):
        return {}
    names = WIDGETS.get(node_type)
    if names is None:
        return {f"widget_{i}": v for i, v in enumerate(values)}
    inputs, i = {}, 0
    for name in names:
        if i >= len(values):
            break
        inputs[name], i = values[i], i + 1
        if name in _SEEDS and i < len(values) and values[i] in _CONTROL:
            i += 1
    return inputs


def _node_inputs(node: dict[str, Any], links: dict[Any, tuple[str, int]]) -> dict[str, Any]:
    node_type = str(node.get("type"))
    bypassed = node.get("mode") == 4
    inputs = {} if bypassed else _widget_inputs(node_type, node.get("widgets_values"))
    for slot in node.get("inputs") or ():
        if (
            isinstance(slot, dict)
            and slot.get("link") in links
            and isinstance(slot.get("name"), str)
        ):
            inputs[slot["name"]] = list(links[slot["link"]])
    return inputs


def workflow_graph(workflow: Any) -> dict[str, dict[str, Any]] | None:
    """An API-format graph {id: {"class_type", "inputs"}} from a UI workflow, or None if
    `workflow` is not one."""
    if not isinstance(workflow, dict) or not isinstance(workflow.get("nodes"), list):
        return None
    links = _links(workflow)
    graph: dict[str, dict[str, Any]] = {}
    for node in workflow["nodes"][:_MAX_NODES]:
        if not isinstance(node, dict) or "id" not in node or node.get("mode") == 2:
            continue
        kind = str(node.get("type"))
        class_type = f"Bypassed {kind}" if node.get("mode") == 4 else kind
        graph[str(node["id"])] = {"class_type": class_type, "inputs": _node_inputs(node, links)}
    return graph or None
