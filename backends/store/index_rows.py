"""Rows of the `images` table: built from image files + sidecars, read back as `ImageRow`.

Nothing here opens images with Pillow: a reindex of 10,000 files must take well under 5 s.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from .files import TEMP_SUFFIX, remove_stale_temps

IMAGE_EXTS = frozenset({".png", ".jpg", ".jpeg", ".webp"})
_INT64 = 2**63


@dataclass(frozen=True, slots=True)
class ImageRow:
    """One indexed image. `metadata` (the full sidecar) is filled by `get()`, not `search()`."""

    id: int
    path: str
    prompt: str
    negative: str
    backend: str
    model: str | None
    seed: int | None
    steps: int | None
    width: int
    height: int
    created_at: float
    cost_usd: float | None
    favourite: bool
    trashed: bool
    sidecar: str | None
    metadata: dict[str, Any] = field(default_factory=dict)


def image_row(row: tuple[Any, ...], metadata: dict[str, Any] | None = None) -> ImageRow:
    (id_, path, prompt, negative, backend, model, seed, steps, width, height, created_at,
     cost_usd, favourite, trashed, sidecar) = row  # fmt: skip
    return ImageRow(
        id_, path, prompt, negative, backend, model, seed, steps, width, height, created_at,
        cost_usd, bool(favourite), bool(trashed), sidecar, metadata or {},
    )  # fmt: skip


def path_key(path: os.PathLike[str] | str) -> str:
    """The indexed form of a path: absolute, parent dirs resolved, the file itself not."""
    path = os.path.abspath(path)
    return os.path.join(os.path.realpath(os.path.dirname(path)), os.path.basename(path))


def walk_images(root: str) -> Iterator[tuple[str, str | None, bool]]:
    """(image path, sidecar path or None, trashed) for every image under `root`.

    Hidden files and dirs (temp `.part` files included) are skipped, except `<root>/.trash`.
    Symlinked dirs are not followed, so a link loop cannot hang a reindex.
    """
    from .trash import TRASH_DIRNAME as trash

    stack = [(root, False)]
    while stack:
        directory, trashed = stack.pop()
        try:
            with os.scandir(directory) as it:
                entries = [entry for entry in it if _storable(entry.name)]
        except OSError:
            continue
        names = {entry.name for entry in entries}
        if any(n.startswith(".") and n.endswith(TEMP_SUFFIX) for n in names):
            remove_stale_temps(Path(directory))  # leftovers of writers killed mid-write
        for entry in entries:
            if _is_dir(entry):
                if entry.name == trash and directory == root:
                    stack.append((entry.path, True))
                elif not entry.name.startswith("."):
                    stack.append((entry.path, trashed))
                continue
            stem, ext = os.path.splitext(entry.name)
            if ext.lower() in IMAGE_EXTS and not entry.name.startswith("."):
                side = stem + ".json"
                sidecar = os.path.join(directory, side) if side in names else None
                yield entry.path, sidecar, trashed


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir(follow_symlinks=False)
    except OSError:
        return False


def _storable(text: str) -> bool:
    """False for names with undecodable bytes (lone surrogates): SQLite cannot store them."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def read_sidecar(path: str) -> tuple[dict[str, Any], str] | None:
    """(sidecar dict, its JSON text), or None if unreadable or not a JSON object."""
    try:
        with open(path, "rb") as fh:
            text = fh.read().decode("utf-8")
        meta = json.loads(text)
    except (OSError, ValueError, RecursionError):  # RecursionError: JSON nested too deeply
        return None
    return (meta, text) if isinstance(meta, dict) else None


def import_embedded(path: str) -> dict[str, Any] | None:
    """Metadata embedded in an image (ours, A1111, ComfyUI, Fooocus…; PNG, JPEG, WebP) via
    pngmeta: at least the size from the header, or None if the file is not a readable image."""
    try:
        from imagen_tui.backends.store.pngmeta import import_metadata
    except ImportError:  # pngmeta.py not there (yet)
        return None
    try:
        meta = import_metadata(Path(path))
    except Exception:  # a foreign file must never break a reindex
        return None
    return meta if isinstance(meta, dict) else None


def load_metadata(image: str, sidecar: str | None) -> tuple[dict[str, Any], str, str | None, bool]:
    """(metadata, its JSON, sidecar used or None, sidecar was bad) for one image file."""
    if sidecar is not None:
        loaded = read_sidecar(sidecar)
        if loaded is not None:
            return loaded[0], loaded[1], sidecar, False
    meta = import_embedded(image) or {}
    return meta, json.dumps(meta, default=str), None, sidecar is not None


def row_values(
    path: str, meta: Mapping[str, Any], meta_json: str, sidecar: str | None, trashed: bool
) -> tuple[Any, ...]:
    """The `images` row for one file, in `IMAGE_COLUMNS` order; wrong-typed fields become NULL."""
    created = _epoch(meta.get("created_at"))
    if created is None:
        created = _mtime(path)
    width, height = _int(meta.get("width")) or 0, _int(meta.get("height")) or 0
    if width <= 0 or height <= 0:  # foreign or stripped metadata: the header knows
        width, height = _header_size(path)
    return (
        path, _str(meta.get("prompt")), _str(meta.get("negative")), _str(meta.get("backend")),
        _opt_str(meta.get("model")), _int(meta.get("seed")), _int(meta.get("steps")),
        width, height, created,
        _float(meta.get("cost_usd")), int(meta.get("favourite") is True), int(trashed),
        sidecar, meta_json,
    )  # fmt: skip


def _header_size(path: str) -> tuple[int, int]:
    from ..imageheader import read_header  # only for images without a size in their metadata

    try:
        header = read_header(path)
    except OSError:
        return 0, 0
    return (header.width, header.height) if header else (0, 0)


def _str(value: Any) -> str:
    return _opt_str(value) or ""


def _opt_str(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    # JSON may spell a lone surrogate ("\\udcff"), which SQLite refuses to store.
    return value if _storable(value) else value.encode("utf-8", "replace").decode("utf-8")


def _int(value: Any) -> int | None:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and -_INT64 <= value < _INT64:
        return value
    return None


def _float(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
        return number if math.isfinite(number) else None
    return None


MAX_EPOCH = 253_402_300_799.0  # 9999-12-31T23:59:59Z: beyond it dates cannot be shown


def _epoch(value: Any) -> float | None:
    """Epoch seconds from a number or an ISO 8601 text; None for anything else, NaN, infinite
    or out of the years 1970-9999 (a hand-edited sidecar must not break the index)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str):
        try:
            seconds = datetime.fromisoformat(value).timestamp()  # naive → local time
        except (ValueError, OverflowError, OSError):
            return None
    else:
        return None
    return seconds if math.isfinite(seconds) and 0 <= seconds <= MAX_EPOCH else None


def _mtime(path: str) -> float:
    try:
        return os.stat(path).st_mtime
    except OSError:
        return time.time()
