"""Writing one generated image: its file name, embedded metadata and sidecar.

The write path of the history store (`HistoryStore.write`), kept apart so that reading the
history never imports naming templates or PNG chunk code.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import StoreError
from ..imageheader import sniff
from . import files, naming, pngmeta
from . import sidecar as sidecar_meta

if TYPE_CHECKING:
    from ..models import ImageResult, Job


@dataclass(frozen=True)
class SavedImage:
    """An image written by `write_image`: its path, its sidecar's (None without one) and the
    metadata in both (the sidecar schema, `store/sidecar.py`)."""

    path: Path
    sidecar: Path | None
    metadata: dict[str, Any]


def write_image(
    output_dir: Path,
    template: str,
    job: Job,
    result: ImageResult,
    backend_type: str,
    *,
    sidecar: bool = True,
) -> SavedImage:
    """Write `result`'s bytes under `output_dir` where `template` says (never overwriting: a
    taken name gets `-N`), with the sidecar metadata embedded in a PNG and, when `sidecar`, in a
    JSON file beside it; width, height and type come from the bytes when the adapter left them
    unset. Image and sidecar land together or not at all. Raises StoreError naming the path."""
    if result.mime_type is None or result.width is None:  # the bytes decide, not the label
        header = sniff(result.data)
        if header is not None:
            result.mime_type = header.mime_type
            result.width, result.height = header.width, header.height
    meta = sidecar_meta.build(job, result, backend_type)
    data = result.data
    if result.mime_type == "image/png":
        data = pngmeta.embed(data, meta, pngmeta.a1111_parameters(meta))
    fields = naming.NameFields(
        when=datetime.fromtimestamp(job.started_at or job.created_at),
        slug=naming.slugify(job.user_prompt or job.request.prompt),
        seed=meta["seed"],
        backend=job.request.backend,
        n=job.index,
        ext=result.extension,
    )
    target = files.safe_join(output_dir, naming.render_name(template, fields))
    try:
        path = files.write_new_file(target, data)
    except OSError as exc:
        raise StoreError(files.write_problem(exc, target), target) from None
    side = None
    if sidecar:
        side = files.sidecar_path(path)
        try:
            files.write_json_atomic(side, meta)
        except OSError as exc:
            path.unlink(missing_ok=True)
            raise StoreError(files.write_problem(exc, side), side) from None
    return SavedImage(path, side, meta)
