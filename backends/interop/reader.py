"""`read_recipe(path)`: one entry point over every reader, for any image file.

Order, first match wins: our own `imagen-tui` chunk; InvokeAI (`invokeai_metadata`,
`sd-metadata`); NovelAI (`Software: NovelAI`); a `parameters` chunk or an EXIF UserComment /
JPEG comment holding SwarmUI or Fooocus JSON or A1111 infotext; a ComfyUI `prompt` graph; a
ComfyUI `workflow` graph. A reader that fails adds a line to `problem` and the next is tried;
width and height always come from the image header.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from imagen_tui.backends.imaging import ImageUnreadable

from . import jsonsafe
from .a1111 import infotext_fields, parse_infotext
from .comfy_graph import graph_fields
from .comfy_workflow import workflow_graph
from .exif import container_texts, exif_texts
from .fooocus import fooocus_fields, is_fooocus
from .header import image_info
from .invokeai import invokeai_fields, sd_metadata_fields
from .novelai import is_novelai, novelai_fields
from .pngtext import OUR_KEYWORD, read_png_text
from .recipe import Fields, Recipe, build_recipe, extra_of
from .swarmui import is_swarmui, swarmui_fields
from .text import safe

_PARAMETER_SOURCES = ("parameters", "exif:UserComment", "comment")
_OUR_MAPPED = frozenset({"prompt", "negative", "seed", "steps", "model", "provider", "request"})
Found = tuple[str, Fields] | None


def _our_fields(texts: dict[str, str], problems: list[str]) -> Found:
    meta = jsonsafe.loads_object(texts.get(OUR_KEYWORD))
    if meta is None:
        return None
    raw_provider = meta.get("provider")
    provider: dict[str, Any] = raw_provider if isinstance(raw_provider, dict) else {}
    fields = {key: meta.get(key) for key in ("prompt", "negative", "seed", "steps", "model")}
    fields |= {"sampler": provider.get("sampler"), "cfg": provider.get("cfg_scale")}
    fields["extra"] = extra_of(meta, _OUR_MAPPED)
    return "imagen-tui", fields


def _invokeai(texts: dict[str, str], problems: list[str]) -> Found:
    if (data := jsonsafe.loads_object(texts.get("invokeai_metadata"))) is not None:
        return "invokeai", invokeai_fields(data)
    data = jsonsafe.loads_object(texts.get("sd-metadata"))
    fields = sd_metadata_fields(data) if data is not None else None
    return ("invokeai", fields) if fields is not None else None


def _novelai(texts: dict[str, str], problems: list[str]) -> Found:
    if not is_novelai(texts):
        return None
    return "novelai", novelai_fields(texts, jsonsafe.loads_object(texts.get("Comment")))


def _parameters(texts: dict[str, str], problems: list[str]) -> Found:
    scheme = texts.get("fooocus_scheme") or texts.get("exif:MakerNote")
    for key in _PARAMETER_SOURCES:
        text = texts.get(key)
        if not text:
            continue
        data = jsonsafe.loads_object(text) if text.lstrip().startswith("{") else None
        if data is not None and is_swarmui(data):
            return "swarmui", swarmui_fields(data)
        if data is not None and is_fooocus(data, scheme):
            return "fooocus", fooocus_fields(data)
        if data is None and (key == "parameters" or _looks_like_infotext(text)):
            fields = infotext_fields(text)
            fooocus = str(fields["extra"].get("Version", "")).startswith("Fooocus")
            return "fooocus" if fooocus else "a1111", fields
    return None


def _looks_like_infotext(text: str) -> bool:
    """For EXIF/comment text, which may be anything: only infotext with settings counts."""
    info = parse_infotext(text)
    return bool(info.settings or info.negative)


def _comfy(texts: dict[str, str], problems: list[str]) -> Found:
    for key, to_graph in (("prompt", lambda v: v), ("workflow", workflow_graph)):
        value = jsonsafe.loads(texts.get(key)) if key in texts else None
        if value is None:
            continue
        fields = graph_fields(to_graph(value))
        if fields is not None:
            return "comfyui", fields
        problems.append(f"ComfyUI {key} graph without a sampler we know")
    return None


_READERS = (_our_fields, _invokeai, _novelai, _parameters, _comfy)


def _interpret(texts: dict[str, str], problems: list[str]) -> tuple[str, Fields]:
    for reader in _READERS:
        try:
            found = reader(texts, problems)
        except Exception as exc:  # one broken reader must not hide what the others know
            problems.append(f"{reader.__name__.strip('_')} reader failed: {type(exc).__name__}")
            continue
        if found is not None:
            return found
    source = "comfyui" if "prompt" in texts or "workflow" in texts else "none"
    return source, {}


def _texts(path: Path, mime: str, problems: list[str]) -> dict[str, str]:
    try:
        if mime == "image/png":
            png = read_png_text(path)
            problems += png.problems
            return {**exif_texts(png.exif), **png.texts}
        if mime in ("image/jpeg", "image/webp"):
            return container_texts(path)
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        problems.append(f"metadata unreadable: {safe(str(exc), 200)}")
    return {}


def _read(path: Path) -> Recipe:
    problems: list[str] = []
    try:
        size = image_info(path)
    except ImageUnreadable as exc:
        return build_recipe("none", {}, ("application/octet-stream", 0, 0), {}, [exc.reason])
    texts = _texts(path, size[0], problems)
    source, fields = _interpret(texts, problems)
    return build_recipe(source, fields, size, texts, problems)


def read_recipe(path: Path | str) -> Recipe:
    """The recipe embedded in the image at `path` (PNG, JPEG, WebP, GIF, …). Never raises:
    a file that cannot be read gives `Recipe(source="none", problem=…)` with what is known."""
    try:
        return _read(Path(path))
    except Exception as exc:  # a hostile file must never break a library scan
        return Recipe(problem=f"reader error: {type(exc).__name__}: {safe(str(exc), 200)}")
