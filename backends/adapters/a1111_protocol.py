"""What Automatic1111 / Forge / SD.Next `/sdapi/v1` expects and answers. Pure: no I/O.

Protocol facts, from AUTOMATIC1111/stable-diffusion-webui `modules/api/api.py` and
`modules/api/models.py` (read 2026-11-30) and `shared/reference/providers.md` §5 (re-checked
2026-11-29):

- `POST /sdapi/v1/txt2img` and `/sdapi/v1/img2img` take the processing fields at the top level
  (`prompt`, `negative_prompt`, `seed`, `steps`, `cfg_scale`, `width`, `height`, `sampler_name`,
  `scheduler`, `batch_size`, `n_iter`, `override_settings`, `send_images`, `save_images`,
  `force_task_id`); img2img adds `init_images` (bare or `data:` base64), `denoising_strength`
  and `resize_mode`. Sizes are multiples of 8 (the latent is 1/8 of the image).
- Both answer `{"images": [B64], "parameters": {...}, "info": "<JSON string>"}`; `info` holds
  `seed`, `all_seeds`, `infotexts`, `sd_model_name`...
- `GET /sdapi/v1/progress?skip_current_image=false` answers `{"progress": 0..1, "eta_relative",
  "state": {"job_count", "job_no", "sampling_step", "sampling_steps", "interrupted", ...},
  "current_image": B64 | null, "textinfo", "current_task"}`; `job_count` 0 means idle;
  `current_task` (A1111 >= 1.6) is the `force_task_id` of the job running now.
- `GET /sdapi/v1/sd-models` lists `[{"title", "model_name", "hash", "sha256", "filename"}]`.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import ErrorCode, ImagenError
from ..image_bytes import verify_image
from ..models import GenerationRequest

SIZE_STEP = 8
"""Width and height must be multiples of this (pixels)."""
TXT2IMG_PATH = "/sdapi/v1/txt2img"
IMG2IMG_PATH = "/sdapi/v1/img2img"
PROGRESS_PATH = "/sdapi/v1/progress"
INTERRUPT_PATH = "/sdapi/v1/interrupt"
MODELS_PATH = "/sdapi/v1/sd-models"
TXT2IMG_ONLY = ("enable_hr", "hr_scale", "hr_upscaler")
IMG2IMG_ONLY = ("resize_mode",)
"""The IEND chunk type and CRC that close every whole PNG."""


@dataclass(frozen=True, slots=True)
class Progress:
    """One `/sdapi/v1/progress` answer: `fraction` 0..1 of the job running now, `busy` when the
    server runs anything, `current_task` its `force_task_id` (None on servers that do not say),
    `preview` the live image bytes (None when there is none)."""

    fraction: float
    busy: bool
    step: int = 0
    steps: int = 0
    current_task: str | None = None
    preview: bytes | None = None
    interrupted: bool = False
    """The server's interrupt flag: set by /sdapi/v1/interrupt, cleared when a job begins."""

    def message(self) -> str:
        return f"step {self.step}/{self.steps}" if self.steps else ""


@dataclass(frozen=True, slots=True)
class Result:
    """The image of a txt2img/img2img answer with the seed the server used and its `info`."""

    data: bytes
    seed: int | None
    model: str | None
    info: dict[str, Any]


def size_problem(width: int, height: int) -> str | None:
    """None when A1111 makes `width`x`height` as asked; else why not, with the nearest size."""
    if width % SIZE_STEP == 0 and height % SIZE_STEP == 0:
        return None
    near_w, near_h = (
        max(SIZE_STEP, (v + SIZE_STEP // 2) // SIZE_STEP * SIZE_STEP) for v in (width, height)
    )
    return (
        f"sizes must be multiples of {SIZE_STEP}; allowed near {width}x{height}: {near_w}x{near_h}"
    )


def build_payload(
    request: GenerationRequest,
    fields: Mapping[str, Any],
    *,
    task_id: str,
    model: str | None = None,
    init_image: bytes | None = None,
) -> tuple[str, dict[str, Any]]:
    """`(path, JSON body)` for one image: txt2img, or img2img when `init_image` is given.

    `fields` are extra top-level API fields (sampler_name, cfg_scale,
    override_settings_restore_afterwards...; None values are left out so the server's defaults
    apply); `model` becomes `override_settings.sd_model_checkpoint`.
    """
    body: dict[str, Any] = {
        "prompt": request.prompt,
        "negative_prompt": request.negative,
        "seed": -1 if request.seed is None else request.seed,
        "width": request.width,
        "height": request.height,
        "batch_size": 1,
        "n_iter": 1,
        "send_images": True,
        "save_images": False,
        "force_task_id": task_id,
    }
    if request.steps is not None:
        body["steps"] = request.steps
    if model:
        body["override_settings"] = {"sd_model_checkpoint": model}
    body.update({k: v for k, v in fields.items() if v is not None})
    if init_image is None:
        for key in IMG2IMG_ONLY:
            body.pop(key, None)
        if not body.get("enable_hr"):
            body.pop("denoising_strength", None)  # txt2img uses it for hires fix only
        return TXT2IMG_PATH, body
    for key in TXT2IMG_ONLY:
        body.pop(key, None)
    body["init_images"] = [base64.b64encode(init_image).decode("ascii")]
    return IMG2IMG_PATH, body


def decode_image(text: Any, source: str) -> bytes:
    """Bytes of a base64 image (a `data:` prefix is allowed). Raises ImagenError(NO_IMAGE)
    naming `source` when it is not base64 or not a whole PNG/JPEG/WebP."""
    if not isinstance(text, str) or not text:
        raise ImagenError(ErrorCode.NO_IMAGE, f"{source} sent no image data")
    if text.startswith("data:"):
        text = text.partition(",")[2]
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ImagenError(
            ErrorCode.NO_IMAGE, f"{source} sent an image that is not base64"
        ) from None
    check_image(data, source)
    return data


def check_image(data: bytes, source: str) -> None:
    """Raise ImagenError(NO_IMAGE) unless `data` decodes whole (see `image_bytes.verify_image`).

    CPU-bound for big images (a full Pillow decode): call it from a worker thread.
    """
    header = verify_image(data, source)
    if header.mime_type not in ("image/png", "image/jpeg", "image/webp"):
        kind = header.extension.upper()
        raise ImagenError(ErrorCode.NO_IMAGE, f"{source} sent a {kind}, not a PNG, JPEG or WebP")


def parse_info(info: Any) -> dict[str, Any]:
    """The `info` field: a JSON string holding an object (a dict is taken as is); {} otherwise."""
    if isinstance(info, dict):
        return info
    if isinstance(info, str):
        try:
            value = json.loads(info)
        except json.JSONDecodeError:
            return {"text": info}
        return value if isinstance(value, dict) else {}
    return {}


def parse_result(body: Any, source: str) -> Result:
    """The first image of a txt2img/img2img answer; ImagenError(NO_IMAGE) when there is none.

    The seed is `info.seed`, else `info.all_seeds[0]`; the model is `info.sd_model_name`.
    """
    if not isinstance(body, dict):
        raise ImagenError(ErrorCode.NO_IMAGE, f"{source} answered without an images list")
    images = body.get("images")
    if not isinstance(images, list) or not images:
        raise ImagenError(ErrorCode.NO_IMAGE, f"{source} answered with no image")
    data = decode_image(images[0], source)
    info = parse_info(body.get("info"))
    return Result(data, _seed(info), _text(info.get("sd_model_name")), info)


def parse_progress(body: Any) -> Progress:
    """Read a `/sdapi/v1/progress` answer; anything malformed reads as idle."""
    if not isinstance(body, dict):
        return Progress(0.0, False)
    raw_state = body.get("state")
    state: dict[str, Any] = raw_state if isinstance(raw_state, dict) else {}
    job_count = _int(state.get("job_count"))
    task = _text(body.get("current_task"))
    busy = job_count != 0 or task is not None
    fraction = body.get("progress")
    preview = None
    raw = body.get("current_image")
    if isinstance(raw, str) and raw:
        try:
            preview = base64.b64decode(raw.partition(",")[2] if raw.startswith("data:") else raw)
        except (binascii.Error, ValueError):
            preview = None
    return Progress(
        fraction=min(1.0, max(0.0, float(fraction))) if isinstance(fraction, int | float) else 0.0,
        busy=busy,
        step=_int(state.get("sampling_step")),
        steps=_int(state.get("sampling_steps")),
        current_task=task,
        preview=preview or None,
        interrupted=state.get("interrupted") is True,
    )


def model_names(body: Any) -> list[str]:
    """Checkpoint titles from `/sdapi/v1/sd-models` (e.g. "sd15.safetensors [0123abcd]")."""
    if not isinstance(body, list):
        return []
    return [str(m["title"]) for m in body if isinstance(m, dict) and m.get("title")]


def find_model(wanted: str, body: Any) -> bool:
    """Whether `wanted` names one of the listed checkpoints by title, model_name, file name or
    hash, the way A1111 resolves `sd_model_checkpoint`."""
    if not isinstance(body, list):
        return False
    for entry in body:
        if not isinstance(entry, dict):
            continue
        names = (entry.get(k) for k in ("title", "model_name", "hash", "sha256", "filename"))
        if any(isinstance(n, str) and n and _same_model(wanted, n) for n in names):
            return True
    return False


def basic_auth(secret: str | None) -> tuple[str, str] | None:
    """`(user, password)` from an `--api-auth` style "user:password" secret; None without one.

    Raises ImagenError(AUTH_MISSING) when the secret has no colon (never quoting it).
    """
    if not secret:
        return None
    user, sep, password = secret.partition(":")
    if not sep:
        raise ImagenError(
            ErrorCode.AUTH_MISSING, "the api_key_env variable must hold user:password"
        )
    return user, password


def _same_model(wanted: str, name: str) -> bool:
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    return wanted in (name, base, base.rsplit(".", 1)[0])


def _seed(info: Mapping[str, Any]) -> int | None:
    seed = info.get("seed")
    if isinstance(seed, int) and not isinstance(seed, bool):
        return seed
    seeds = info.get("all_seeds")
    if isinstance(seeds, Sequence) and seeds and isinstance(seeds[0], int):
        return int(seeds[0])
    return None


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
