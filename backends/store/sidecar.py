"""The sidecar schema, defined once: what we write beside (and inside) every image, and how any
image's metadata is read back (our sidecar first, else the chunks other tools embed).

Version 1 keys (all present, None when unknown): version, prompt, negative, backend,
backend_type, model, seed, steps, width, height (pixels, from the image header), mime_type,
style, created_at (ISO 8601 with offset), latency_s (seconds), cost_usd (USD), revised_prompt,
favourite, tags, job_id, request (the `GenerationRequest` that makes this image again: the user's
prompt before a style, seed resolved), provider (the backend's own metadata). Never a credential.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import files, sidecar_check

if TYPE_CHECKING:
    from ..models import GenerationRequest, ImageResult, Job

SIDECAR_VERSION = 1
NO_PROMPT = "this image has no prompt to re-run"
KEYS = (
    "version", "prompt", "negative", "backend", "backend_type", "model", "seed", "steps",
    "width", "height", "mime_type", "style", "created_at", "latency_s", "cost_usd",
    "revised_prompt", "favourite", "tags", "job_id", "request", "provider",
)  # fmt: skip


def build(job: Job, result: ImageResult, backend_type: str) -> dict[str, Any]:
    """The metadata of one finished image; `result` has width/height/mime from its header."""
    req = job.request
    finished = datetime.fromtimestamp(job.finished_at or job.created_at).astimezone()
    seed = result.seed if result.seed is not None else req.seed
    original = req.replace(
        prompt=job.user_prompt or req.prompt, negative=job.user_negative, count=1, seed=seed
    ).to_dict()
    return {
        "version": SIDECAR_VERSION,
        "prompt": req.prompt,
        "negative": req.negative,
        "backend": req.backend,
        "backend_type": backend_type,
        "model": result.model,
        "seed": seed,
        "steps": req.steps or result.metadata.get("steps"),
        "width": result.width or req.width,
        "height": result.height or req.height,
        "mime_type": result.mime_type,
        "style": req.style,
        "created_at": finished.isoformat(timespec="milliseconds"),  # orders a busy second
        "latency_s": round(job.elapsed, 3),
        "cost_usd": result.cost_usd,
        "revised_prompt": result.revised_prompt,
        "favourite": False,
        "tags": [],
        "job_id": job.id,
        "request": original,
        "provider": result.metadata,
    }


def with_defaults(meta: dict[str, Any]) -> dict[str, Any]:
    """`meta` with every schema key present (None, or [] for tags, False for favourite)."""
    out: dict[str, Any] = {key: None for key in KEYS}
    out.update(favourite=False, tags=[])
    out.update(meta)
    return out


def read(image: Path) -> dict[str, Any] | None:
    """The sidecar of `image` as written, or None when there is none or it is not a JSON object
    (see `sidecar_check.parse` for why)."""
    return sidecar_check.parse(files.sidecar_path(image))[0]


def metadata(image: Path) -> dict[str, Any]:
    """Everything known about `image`: our sidecar, else the metadata embedded in the file (ours,
    A1111, ComfyUI, …), else nothing; width/height always from the image header when missing.

    `sidecar_problem` is None, or why the sidecar beside the image is unusable or partly wrong
    ("not valid JSON (…)", "prompt should be text; those fields are ignored"): the image is
    still shown, with what could be read."""
    meta, problem = sidecar_check.load(files.sidecar_path(image))
    if meta is None:
        from . import pngmeta  # imports the readers only when a file has no sidecar

        meta = pngmeta.import_metadata(image) or {}
    meta = with_defaults(meta)
    meta["sidecar_problem"] = problem
    if not meta.get("width") or not meta.get("height"):
        from ..imageheader import read_header

        try:
            header = read_header(image)
        except OSError:
            header = None
        if header is not None:
            meta.update(width=header.width, height=header.height, mime_type=header.mime_type)
    return meta


def request_from(meta: dict[str, Any], *, require_prompt: bool = True) -> GenerationRequest:
    """The request that makes this image again. Ours carry it whole; for foreign images it is
    built from the recipe fields (prompt, negative, seed, steps, size). ValueError when there is
    no prompt to re-run, unless `require_prompt` is False: then the settings that exist come
    with an empty prompt (for loading into the editor)."""
    from ..models import GenerationRequest  # listing the history needs no request class

    stored = meta.get("request")
    if isinstance(stored, dict):
        try:
            request = GenerationRequest.from_dict({**stored, "count": 1})
        except (ValueError, TypeError):
            pass  # an older or hand-edited sidecar: fall back to the recipe fields
        else:
            if request.prompt.strip() or not require_prompt:
                return request
    prompt = meta.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        if require_prompt:
            raise ValueError(NO_PROMPT)
        prompt = ""
    return GenerationRequest(
        prompt=prompt,
        negative=_text(meta.get("negative")),
        width=_side(meta.get("width")),
        height=_side(meta.get("height")),
        seed=_int(meta.get("seed")),
        steps=_int(meta.get("steps")),
    )


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _side(value: Any) -> int:
    from ..models import MAX_SIDE, MIN_SIDE

    side = _int(value) or 1024
    return min(MAX_SIDE, max(MIN_SIDE, side))
