"""Metadata inside our image files: write ours (JSON + A1111 infotext chunks), and turn what
any image carries into sidecar-shaped metadata for the index.

Writing works on the PNG chunk stream (length, type, data, CRC); pixels are never decoded.
Reading goes through `imagen_tui.backends.interop`, which knows every tool's format.

Our JSON chunk: an uncompressed `iTXt` chunk with keyword `imagen-tui`, holding the sidecar
object exactly (UTF-8 JSON, no NaN): version, prompt, negative, backend, backend_type, model,
seed, steps, width, height, style, created_at, latency_s, cost_usd, revised_prompt, favourite,
tags, job_id, request, provider. Beside it, a `parameters` chunk in A1111's infotext format
(`tEXt` when Latin-1, else `iTXt`) so A1111, Forge, SD.Next, Civitai and image browsers read
our prompt, seed, steps, size and model.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from imagen_tui.backends.interop.a1111 import format_infotext
from imagen_tui.backends.interop.jsonsafe import loads_object, sanitize
from imagen_tui.backends.interop.pngtext import (
    OUR_KEYWORD,
    PNG_SIGNATURE,
    TEXT_TYPES,
    chunk,
    iter_chunks,
    read_png_text,
)
from imagen_tui.backends.interop.text import MAX_PROMPT_CHARS, clean

if TYPE_CHECKING:
    from imagen_tui.backends.interop import Recipe

A1111_KEYWORD = "parameters"
__all__ = ["OUR_KEYWORD", "a1111_parameters", "embed", "import_metadata", "read_text_chunks"]


def _text_chunk(keyword: str, text: str) -> bytes:
    """tEXt when the text is ASCII, else uncompressed iTXt (UTF-8).

    A1111 writes any Latin-1 text as tEXt, but readers (ours included) take a tEXt that is
    valid UTF-8 as UTF-8, so Latin-1 like "Â\xa0" would come back as "\xa0": iTXt is exact.
    """
    text = text.replace("\x00", "")
    if text.isascii():
        return chunk(b"tEXt", keyword.encode("latin-1") + b"\0" + text.encode("ascii"))
    return _itxt_chunk(keyword, text)


def _itxt_chunk(keyword: str, text: str) -> bytes:
    # keyword, NUL, compression flag 0, method 0, empty language, NUL, empty translation, NUL
    head = keyword.encode("latin-1") + b"\0\0\0\0\0"
    return chunk(b"iTXt", head + text.replace("\x00", "").encode("utf-8"))


def _is_ours(ctype: bytes, data: bytes | None) -> bool:
    if ctype not in TEXT_TYPES or data is None:
        return False
    return data.split(b"\0", 1)[0].decode("latin-1") in (OUR_KEYWORD, A1111_KEYWORD)


def embed(png: bytes, metadata: dict[str, Any], parameters: str) -> bytes:
    """`png` with our JSON (iTXt `imagen-tui`) and A1111 `parameters` inserted after IHDR.

    Earlier chunks with those two keywords are dropped, so embedding twice does not duplicate.
    ValueError if `png` is not a complete PNG.
    """
    if png[12:16] != b"IHDR":
        raise ValueError("not a PNG file (no IHDR chunk first)")
    meta_json = json.dumps(sanitize(metadata), ensure_ascii=False, allow_nan=False)
    ours = _itxt_chunk(OUR_KEYWORD, meta_json)
    if parameters:
        ours += _text_chunk(A1111_KEYWORD, parameters)
    parts, start, ctype = [PNG_SIGNATURE], len(PNG_SIGNATURE), b""
    for ctype, end, data in iter_chunks(io.BytesIO(png), TEXT_TYPES, max_bytes=len(png)):
        if not _is_ours(ctype, data):
            parts.append(png[start:end])
        if ctype == b"IHDR":
            parts.append(ours)
        start = end
    if ctype != b"IEND" or start > len(png):
        raise ValueError("truncated PNG file")
    return b"".join(parts)


def read_text_chunks(path_or_bytes: Path | str | bytes) -> dict[str, str]:
    """All tEXt/iTXt/zTXt chunks as {keyword: text}; the first of a keyword wins.

    ValueError if this is not a PNG; a truncated tail ends the scan; bad-CRC chunks are skipped.
    """
    return read_png_text(path_or_bytes).texts


def a1111_parameters(meta: dict[str, Any]) -> str:
    """Automatic1111's `parameters` infotext for a sidecar-shaped dict."""
    raw_provider = meta.get("provider")
    provider: dict[str, Any] = raw_provider if isinstance(raw_provider, dict) else {}
    width, height = meta.get("width"), meta.get("height")
    settings = {
        "Steps": meta.get("steps"),
        "Sampler": provider.get("sampler"),
        "CFG scale": provider.get("cfg_scale"),
        "Seed": meta.get("seed"),
        "Size": f"{width}x{height}" if width and height else None,
        "Model": meta.get("model"),
        "Backend": meta.get("backend"),
    }
    return format_infotext(str(meta.get("prompt") or ""), str(meta.get("negative") or ""), settings)


def _created(path: Path) -> str:
    return datetime.fromtimestamp(path.stat().st_mtime, UTC).isoformat()


def _provider(recipe: Recipe) -> dict[str, Any]:
    provider: dict[str, Any] = {
        "sampler": recipe.sampler,
        "scheduler": recipe.scheduler,
        "cfg_scale": recipe.cfg,
        "model_hash": recipe.model_hash,
        "loras": [{"name": lora.name, "weight": lora.weight} for lora in recipe.loras],
        "extra": dict(recipe.extra),
    }
    return {key: value for key, value in provider.items() if value not in (None, [], {})}


def _foreign(path: Path, recipe: Recipe) -> dict[str, Any]:
    meta = {
        "version": 1, "prompt": recipe.prompt, "negative": recipe.negative,
        "backend": "imported", "backend_type": recipe.source, "model": recipe.model,
        "seed": recipe.seed, "steps": recipe.steps, "width": recipe.width,
        "height": recipe.height, "style": None, "created_at": _created(path),
        "latency_s": 0.0, "cost_usd": None, "revised_prompt": None, "favourite": False,
        "tags": [], "job_id": "", "request": {}, "provider": _provider(recipe),
    }  # fmt: skip
    if recipe.problem:
        meta["import_problem"] = recipe.problem
    return meta


def _ours(path: Path, recipe: Recipe) -> dict[str, Any] | None:
    meta = loads_object(read_text_chunks(path).get(OUR_KEYWORD))
    if meta is None:
        return None
    safe: dict[str, Any] = sanitize(meta)  # a dict in, a dict out
    meta = safe
    for key, value in meta.items():  # terminal-safe, like every imported text
        if key in ("prompt", "negative"):
            meta[key] = getattr(recipe, key)
        elif isinstance(value, str):
            meta[key] = clean(value, MAX_PROMPT_CHARS)[0]
    meta.setdefault("width", recipe.width)
    meta.setdefault("height", recipe.height)
    return meta


def import_metadata(path: Path) -> dict[str, Any] | None:
    """Sidecar-shaped metadata for an image without a sidecar, or None if it is not an image
    we can read at all. Never raises.

    Our own `imagen-tui` chunk is returned as written. Anything else (A1111, ComfyUI, Fooocus,
    SwarmUI, InvokeAI, NovelAI, or nothing known) gives every sidecar key with
    `backend` "imported", `backend_type` the recipe's source ("none" if nothing was
    understood), width/height from the image header, sampler, scheduler, cfg_scale,
    model_hash, loras and other settings under `provider`, and `import_problem` when part of
    the file could not be read. The result always serialises as strict JSON (no NaN).
    """
    try:
        path = Path(path)
        from imagen_tui.backends.interop import read_recipe  # every reader: only to read

        recipe = read_recipe(path)
        if recipe.width == 0 and recipe.source == "none":
            return None
        ours = _ours(path, recipe) if recipe.source == "imagen-tui" else None
        return ours if ours is not None else sanitize(_foreign(path, recipe))
    except Exception:  # a corrupt or hostile file must never break a library scan
        return None
