"""Metadata inside PNG files: write ours, read ours, Automatic1111's and ComfyUI's.

Everything works on the chunk stream (length, type, data, CRC); pixels are never decoded.
"""

from __future__ import annotations

import io
import json
import re
import struct
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
OUR_KEYWORD = "imagen-tui"
A1111_KEYWORD = "parameters"
COMFY_KEYWORD = "prompt"
TEXT_TYPES = (b"tEXt", b"iTXt", b"zTXt")
MAX_TEXT_BYTES = 8 * 1024 * 1024  # bound on decompressed text: no zip bombs

# Automatic1111's own pattern for `Key: value, Key: "quoted, value"` lines.
_PARAM_RE = re.compile(r'\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)')
_NEGATIVE_PREFIX = "Negative prompt:"
_KNOWN_PARAMS = {"Steps", "Sampler", "Seed", "Size", "Model", "Backend", "CFG scale"}


def _chunk(ctype: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + ctype + data + struct.pack(">I", zlib.crc32(ctype + data))


def _text_chunk(keyword: str, text: str) -> bytes:
    """tEXt when the text is latin-1, else uncompressed iTXt (as A1111 does)."""
    text = text.replace("\x00", "")
    try:
        return _chunk(b"tEXt", keyword.encode("latin-1") + b"\0" + text.encode("latin-1"))
    except UnicodeEncodeError:
        return _itxt_chunk(keyword, text)


def _itxt_chunk(keyword: str, text: str) -> bytes:
    # keyword, NUL, compression flag 0, method 0, empty language, NUL, empty translation, NUL
    head = keyword.encode("latin-1") + b"\0\0\0\0\0"
    return _chunk(b"iTXt", head + text.replace("\x00", "").encode("utf-8"))


def _iter_chunks(fh: IO[bytes], wanted: tuple[bytes, ...]) -> Iterator[tuple[bytes, int, bytes]]:
    """(type, end offset, data) per chunk. Only `wanted` chunks are read, and their data is
    b"" on a bad CRC; the rest (pixels) are skipped by seeking. A truncated tail ends it."""
    if fh.read(8) != PNG_SIGNATURE:
        raise ValueError("not a PNG file")
    while len(header := fh.read(8)) == 8:
        length, ctype = struct.unpack(">I4s", header)
        data = b""
        if ctype in wanted:
            data, crc = fh.read(length), fh.read(4)
            if len(crc) < 4:
                return
            data = data if struct.unpack(">I", crc)[0] == zlib.crc32(ctype + data) else b""
        else:
            fh.seek(length + 4, io.SEEK_CUR)
        yield ctype, fh.tell(), data
        if ctype == b"IEND":
            return


def embed(png: bytes, metadata: dict, parameters: str) -> bytes:
    """`png` with our JSON (iTXt `imagen-tui`) and A1111 `parameters` inserted after IHDR.

    Earlier chunks with those two keywords are dropped, so embedding twice does not duplicate.
    """
    if png[12:16] != b"IHDR":
        raise ValueError("not a PNG file (no IHDR chunk first)")
    ours = _itxt_chunk(OUR_KEYWORD, json.dumps(metadata, ensure_ascii=False))
    if parameters:
        ours += _text_chunk(A1111_KEYWORD, parameters)
    parts, start, ctype = [PNG_SIGNATURE], len(PNG_SIGNATURE), b""
    for ctype, end, data in _iter_chunks(io.BytesIO(png), TEXT_TYPES):
        keyword = data.split(b"\0", 1)[0].decode("latin-1")
        if ctype not in TEXT_TYPES or keyword not in (OUR_KEYWORD, A1111_KEYWORD):
            parts.append(png[start:end])
        if ctype == b"IHDR":
            parts.append(ours)
        start = end
    if ctype != b"IEND" or start > len(png):
        raise ValueError("truncated PNG file")
    return b"".join(parts)


def _decompress(data: bytes) -> bytes:
    return zlib.decompressobj().decompress(data, MAX_TEXT_BYTES)


def _decode_text(ctype: bytes, data: bytes) -> tuple[str, str]:
    keyword, _, rest = data.partition(b"\0")
    key = keyword.decode("latin-1")
    if ctype == b"tEXt":
        return key, rest.decode("latin-1")
    if ctype == b"zTXt":
        return key, _decompress(rest[1:]).decode("latin-1")
    compressed, rest = rest[0], rest[2:]
    _lang, _, rest = rest.partition(b"\0")
    _translated, _, text = rest.partition(b"\0")
    return key, (_decompress(text) if compressed else text).decode("utf-8", "replace")


def read_text_chunks(path_or_bytes: Path | str | bytes) -> dict[str, str]:
    """All tEXt/iTXt/zTXt chunks as {keyword: text}; the first of a keyword wins.

    Image data is skipped, not read. ValueError if this is not a PNG; a truncated or
    corrupt tail just ends the scan, and chunks with a bad CRC are ignored.
    """
    if isinstance(path_or_bytes, bytes | bytearray):
        fh: IO[bytes] = io.BytesIO(path_or_bytes)
    else:
        fh = open(path_or_bytes, "rb")  # noqa: SIM115 - closed by the with below
    found: dict[str, str] = {}
    with fh:
        for ctype, _, data in _iter_chunks(fh, TEXT_TYPES):
            if not data:  # bad CRC
                continue
            try:
                key, text = _decode_text(ctype, data)
            except (zlib.error, IndexError, UnicodeDecodeError):
                continue
            found.setdefault(key, text)
    return found


def _quote(value: Any) -> str:
    text = str(value)
    if any(c in text for c in ',:\n"') or text != text.strip():
        return json.dumps(text, ensure_ascii=False)
    return text


def a1111_parameters(meta: dict) -> str:
    """Automatic1111's `parameters` text for a sidecar-shaped dict."""
    lines = [str(meta.get("prompt") or "")]
    if meta.get("negative"):
        lines.append(f"{_NEGATIVE_PREFIX} {meta['negative']}")
    provider = meta.get("provider") or {}
    width, height = meta.get("width"), meta.get("height")
    params = {
        "Steps": meta.get("steps"),
        "Sampler": provider.get("sampler"),
        "CFG scale": provider.get("cfg_scale"),
        "Seed": meta.get("seed"),
        "Size": f"{width}x{height}" if width and height else None,
        "Model": meta.get("model"),
        "Backend": meta.get("backend"),
    }
    pairs = [f"{key}: {_quote(value)}" for key, value in params.items() if value is not None]
    if pairs:
        lines.append(", ".join(pairs))
    return "\n".join(lines)


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        try:
            value = json.loads(text)
        except ValueError:
            return text
        return value if isinstance(value, str) else text
    return text


def _params_line(line: str, lone: bool) -> dict[str, str] | None:
    """The `Key: value, …` pairs of `line` if it is a parameters line, else None.

    A1111's test is "three or more pairs". Below that, a line that is nothing but pairs with a
    key we know also counts, unless it is the only line (then it is more likely a prompt).
    """
    stripped = line.strip()
    matches = list(_PARAM_RE.finditer(stripped))
    pairs = {m.group(1).strip(): _unquote(m.group(2).strip()) for m in matches}
    if len(matches) >= 3:
        return pairs
    whole = sum(len(m.group(0)) for m in matches) == len(stripped)
    if not lone and whole and _KNOWN_PARAMS & pairs.keys():
        return pairs
    return None


def _number(text: str) -> int | float | str:
    if re.fullmatch(r"-?\d{1,30}", text):
        return int(text)
    return float(text) if re.fullmatch(r"-?\d{0,30}\.\d{1,30}", text) else text


def _apply_params(out: dict[str, Any], pairs: dict[str, str]) -> None:
    provider: dict[str, Any] = out["provider"]
    for key, value in pairs.items():
        if key in ("Steps", "Seed") and isinstance(_number(value), int):
            out[key.lower()] = int(value)
        elif key == "Size" and re.fullmatch(r"\d{1,9}x\d{1,9}", value):
            out["width"], out["height"] = (int(v) for v in value.split("x"))
        elif key in ("Model", "Backend"):
            out[key.lower()] = value
        else:
            provider[re.sub(r"[^a-z0-9]+", "_", key.lower()).strip("_")] = _number(value)


def parse_a1111_parameters(text: str) -> dict[str, Any]:
    """Parse A1111 `parameters` text into sidecar keys (prompt, negative, steps, seed, …).

    Keys other than steps/seed/size/model/backend go into `provider`, snake_cased.
    """
    lines = text.rstrip("\r\n").split("\n")
    pairs = _params_line(lines[-1], lone=len(lines) == 1)
    if pairs is not None:
        lines.pop()
    split = next((i for i, line in enumerate(lines) if line.startswith(_NEGATIVE_PREFIX)), None)
    negative = ""
    if split is not None:
        first = lines[split][len(_NEGATIVE_PREFIX) :].removeprefix(" ")
        lines, negative = lines[:split], "\n".join([first, *lines[split + 1 :]])
    out: dict[str, Any] = {"prompt": "\n".join(lines), "negative": negative, "provider": {}}
    _apply_params(out, pairs or {})
    return out


def _link(graph: dict, value: Any) -> dict | None:
    """The node a ComfyUI `[node_id, output]` input points at."""
    if isinstance(value, list) and value and str(value[0]) in graph:
        node = graph[str(value[0])]
        return node if isinstance(node, dict) else None
    return None


def _walk(
    graph: dict, node: dict | None, keys: tuple[str, ...], via: tuple[str, ...], budget: int = 16
) -> Any:
    """The first literal value of one of `keys`, following links through `via` inputs."""
    while node is not None and budget > 0:  # graphs can loop: give up rather than spin
        budget -= 1
        inputs = node.get("inputs") or {}
        for key in keys:
            value = inputs.get(key)
            if isinstance(value, str | int | float) and not isinstance(value, bool):
                return value
            if isinstance(value, list):  # e.g. text fed from a primitive/string node
                literal = (*keys, "value", "text", "string")
                return _walk(graph, _link(graph, value), literal, via, budget)
        node = next((_link(graph, inputs[k]) for k in via if k in inputs), None)
    return None


_SAMPLERS = ("KSampler", "KSamplerAdvanced")
_TEXT_KEYS = ("text", "text_g", "prompt")
_COND_VIA = ("conditioning", "conditioning_1", "conditioning_to")


def parse_comfy_prompt(workflow: dict) -> dict[str, Any] | None:
    """Sidecar keys from a ComfyUI API-format workflow, or None without a KSampler."""
    nodes = [n for n in workflow.values() if isinstance(n, dict)]
    sampler = next((n for n in nodes if n.get("class_type") in _SAMPLERS), None)
    if sampler is None:
        return None
    inputs = sampler.get("inputs") or {}

    def find(start: str | None, keys: tuple[str, ...], via: tuple[str, ...] = ()) -> Any:
        node = _link(workflow, inputs.get(start)) if start else sampler
        return _walk(workflow, node, keys, via)

    latent = _link(workflow, inputs.get("latent_image"))
    latent = latent or next((n for n in nodes if n.get("class_type") == "EmptyLatentImage"), None)
    model = find("model", ("ckpt_name", "unet_name"), ("model",))
    out = {
        "prompt": str(find("positive", _TEXT_KEYS, (*_COND_VIA, "positive")) or ""),
        "negative": str(find("negative", _TEXT_KEYS, (*_COND_VIA, "negative")) or ""),
        "seed": find(None, ("seed", "noise_seed")),
        "steps": find(None, ("steps",)),
        "model": None if model is None else str(model),
        "width": _walk(workflow, latent, ("width",), ()),
        "height": _walk(workflow, latent, ("height",), ()),
    }
    out = {k: v for k, v in out.items() if k in ("prompt", "negative", "model") or type(v) is int}
    out["provider"] = {k: inputs[k] for k in ("sampler_name", "scheduler", "cfg") if k in inputs}
    return out


def _png_size(path: Path) -> tuple[int, int] | None:
    with open(path, "rb") as fh:
        head = fh.read(24)
    if head[:8] != PNG_SIGNATURE or head[12:16] != b"IHDR":
        return None
    return struct.unpack(">II", head[16:24])


def _defaults(path: Path, source: str) -> dict[str, Any]:
    width, height = _png_size(path) or (0, 0)
    created = datetime.fromtimestamp(path.stat().st_mtime, UTC).isoformat()
    return {
        "version": 1, "prompt": "", "negative": "", "backend": "imported",
        "backend_type": source, "model": None, "seed": None, "steps": None,
        "width": width, "height": height, "style": None, "created_at": created,
        "latency_s": 0.0, "cost_usd": None, "revised_prompt": None, "favourite": False,
        "tags": [], "job_id": "", "request": {}, "provider": {},
    }  # fmt: skip


def _json_dict(text: str | None) -> dict | None:
    try:
        value = json.loads(text or "")
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _import(path: Path) -> dict | None:
    if _png_size(path) is None:
        return None  # JPEG, WebP, anything else: no metadata we understand
    chunks = read_text_chunks(path)
    ours = _json_dict(chunks.get(OUR_KEYWORD))
    if ours is not None:
        return ours
    if A1111_KEYWORD in chunks:
        return {**_defaults(path, "a1111"), **parse_a1111_parameters(chunks[A1111_KEYWORD])}
    workflow = _json_dict(chunks.get(COMFY_KEYWORD))
    parsed = parse_comfy_prompt(workflow) if workflow else None
    return {**_defaults(path, "comfyui"), **parsed} if parsed else None


def import_metadata(path: Path) -> dict | None:
    """Sidecar-shaped metadata found inside an image file, or None (never raises).

    Our own `imagen-tui` chunk wins, then A1111 `parameters`, then a ComfyUI `prompt` workflow.
    Imported dicts carry every sidecar key, with `backend_type` "a1111" or "comfyui".
    """
    try:
        return _import(Path(path))
    except Exception:  # a corrupt or hostile file must never break a library scan
        return None
