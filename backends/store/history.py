"""The history store: image files + sidecars (the truth) and the index (the cache)."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..models import ImageResult, Job
from . import files, pngmeta

if TYPE_CHECKING:
    from .index import Index

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class SavedImage:
    path: Path
    sidecar: Path | None
    metadata: dict[str, Any]


def image_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from a PNG header without decoding it."""
    if data[:8] == PNG_SIGNATURE and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return width, height
    return None


def build_metadata(job: Job, result: ImageResult, backend_type: str) -> dict[str, Any]:
    """The sidecar and PNG-chunk metadata of one image. Never holds a credential."""
    req = job.request
    width, height = image_size(result.data) or (req.width, req.height)
    finished = datetime.fromtimestamp(job.finished_at or job.created_at).astimezone()
    original = req.model_dump(mode="json")
    original.update(prompt=job.user_prompt or req.prompt, negative=job.user_negative, count=1)
    return {
        "version": 1,
        "prompt": req.prompt,
        "negative": req.negative,
        "backend": req.backend,
        "backend_type": backend_type,
        "model": result.model,
        "seed": result.seed if result.seed is not None else req.seed,
        "steps": req.steps or result.metadata.get("steps"),
        "width": width,
        "height": height,
        "style": req.style,
        "created_at": finished.isoformat(timespec="seconds"),
        "latency_s": round(job.elapsed, 3),
        "cost_usd": result.cost_usd,
        "revised_prompt": result.revised_prompt,
        "favourite": False,
        "tags": [],
        "job_id": job.id,
        "request": original,
        "provider": result.metadata,
    }


class HistoryStore:
    """Writes images where the naming template says and keeps the index in step."""

    def __init__(
        self, output_dir: Path, naming: str, *, sidecar: bool = True, index_path: Path | None = None
    ) -> None:
        self.output_dir = output_dir
        self.naming = naming
        self.sidecar = sidecar
        self._index_path = index_path

    def check_writable(self) -> str | None:
        """None when the output dir can take files, else one line naming it."""
        return files.check_writable(self.output_dir)

    @cached_property
    def index(self) -> Index:
        from .index import open_index  # sqlite is only needed once something is recorded

        return open_index(self.output_dir, self._index_path)

    def close(self) -> None:
        """Close the index if it was opened."""
        index = self.__dict__.pop("index", None)
        if index is not None:
            index.close()

    def write(self, job: Job, result: ImageResult, backend_type: str) -> SavedImage:
        """Write one image (and its sidecar) atomically; never overwrites. Thread-safe."""
        meta = build_metadata(job, result, backend_type)
        data = result.data
        if data[:8] == PNG_SIGNATURE:
            data = pngmeta.embed(data, meta, pngmeta.a1111_parameters(meta))
        fields = files.NameFields(
            when=datetime.fromtimestamp(job.started_at or job.created_at),
            slug=files.slugify(job.user_prompt or job.request.prompt),
            seed=meta["seed"],
            backend=job.request.backend,
            n=job.index,
            ext=result.extension,
        )
        target = files.safe_join(self.output_dir, files.render_name(self.naming, fields))
        path = files.write_new_file(target, data)
        sidecar = None
        if self.sidecar:
            sidecar = files.sidecar_path(path)
            files.write_json_atomic(sidecar, meta)
        return SavedImage(path, sidecar, meta)

    def record(self, saved: SavedImage) -> None:
        """Add a written image to the index."""
        self.index.add_image(saved.path, saved.metadata)

    def record_job(self, job: Job) -> None:
        self.index.upsert_job(job)

    def set_favourite(self, image: Path, value: bool) -> None:
        """Favourites live in the sidecar (the truth) and the index (the cache)."""
        sidecar = files.sidecar_path(image)
        if sidecar.exists():
            import json

            meta = json.loads(sidecar.read_text(encoding="utf-8"))
            meta["favourite"] = value
            files.write_json_atomic(sidecar, meta)
        self.index.set_favourite(image, value)

    def trash(self, image: Path) -> Path:
        from . import trash

        moved = trash.trash(self.output_dir, image)
        self.index.move_image(image, moved, trashed=True)
        return moved

    def restore(self, trashed_image: Path) -> Path:
        from . import trash

        back = trash.restore(self.output_dir, trashed_image)
        self.index.move_image(trashed_image, back, trashed=False)
        return back
