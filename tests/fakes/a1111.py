"""A fake Automatic1111 `--api` server on loopback that behaves like the real one.

Modelled on AUTOMATIC1111/stable-diffusion-webui `modules/api/api.py` (read 2026-11-30) and
`shared/reference/providers.md` §5:

- `POST /sdapi/v1/txt2img|img2img` runs one job at a time (a lock: a second request waits),
  `steps` sampling steps of `step_s` seconds each, then answers `{"images": [B64 PNG],
  "parameters", "info": "<JSON string>"}`; `seed: -1` draws a seed; `info.seed` is the real one.
- While a job runs, `GET /sdapi/v1/progress` reports `progress`, `state.job_count` 1,
  `sampling_step`/`sampling_steps`, `current_task` (the request's `force_task_id`) and a live
  `current_image` (bare base64 PNG, unless `skip_current_image=true`). Idle: `job_count` 0.
- `POST /sdapi/v1/interrupt` stops whatever runs (the job still answers with its unfinished
  image) and sets `state.interrupted`, which stays set until the next job begins; it answers
  `{}`; `GET /sdapi/v1/sd-models` lists checkpoints.
- An unknown sampler is 404 `{"detail": "Sampler not found"}`; a field of the wrong type is 422
  `{"detail": [{"loc", "msg", "type"}]}`; with `auth` set, a request without the right HTTP
  Basic credentials is 401 `{"detail": "Incorrect username or password"}`.

Stricter than the real server in one way, on purpose: a body field the API does not define is
a 422 here (A1111 silently ignores it, which would hide a misspelt field name).
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import random
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from PIL import Image

from tests.fakes.server import FakeServer, Reply

COMMON_FIELDS = frozenset(
    {
        "prompt", "negative_prompt", "styles", "seed", "subseed", "subseed_strength",
        "seed_resize_from_h", "seed_resize_from_w", "sampler_name", "scheduler", "batch_size",
        "n_iter", "steps", "cfg_scale", "distilled_cfg_scale", "width", "height",
        "restore_faces", "tiling", "do_not_save_samples", "do_not_save_grid", "eta",
        "denoising_strength", "s_min_uncond", "s_churn", "s_tmax", "s_tmin", "s_noise",
        "override_settings", "override_settings_restore_afterwards", "refiner_checkpoint",
        "refiner_switch_at", "disable_extra_networks", "comments", "force_task_id",
        "sampler_index", "script_name", "script_args", "send_images", "save_images",
        "alwayson_scripts", "infotext",
    }
)  # fmt: skip
TXT2IMG_FIELDS = COMMON_FIELDS | {
    "enable_hr", "firstphase_width", "firstphase_height", "hr_scale", "hr_upscaler",
    "hr_second_pass_steps", "hr_resize_x", "hr_resize_y", "hr_checkpoint_name",
    "hr_sampler_name", "hr_scheduler", "hr_prompt", "hr_negative_prompt", "firstpass_image",
}  # fmt: skip
IMG2IMG_FIELDS = COMMON_FIELDS | {
    "init_images", "resize_mode", "image_cfg_scale", "mask", "mask_blur_x", "mask_blur_y",
    "mask_blur", "mask_round", "inpainting_fill", "inpaint_full_res",
    "inpaint_full_res_padding", "inpainting_mask_invert", "initial_noise_multiplier",
    "latent_mask", "include_init_images",
}  # fmt: skip
TYPES: dict[str, type | tuple[type, ...]] = {
    "prompt": str, "negative_prompt": str, "seed": int, "steps": int, "width": int,
    "height": int, "batch_size": int, "n_iter": int, "cfg_scale": (int, float),
    "denoising_strength": (int, float), "resize_mode": int, "sampler_name": str,
    "scheduler": str, "force_task_id": str, "send_images": bool, "save_images": bool,
    "override_settings": dict, "init_images": list, "enable_hr": bool,
}  # fmt: skip
SAMPLERS = ("Euler a", "Euler", "DPM++ 2M", "DPM++ SDE")
MODELS = [
    {"title": "sd15.safetensors [0123abcd45]", "model_name": "sd15", "hash": "0123abcd45",
     "sha256": "0123abcd45" + "0" * 54, "filename": "/models/Stable-diffusion/sd15.safetensors",
     "config": None},
    {"title": "flux1-dev.safetensors [9f8e7d6c5b]", "model_name": "flux1-dev",
     "hash": "9f8e7d6c5b", "sha256": None,
     "filename": "/models/Stable-diffusion/flux1-dev.safetensors", "config": None},
]  # fmt: skip
A1111_MAX_SEED = 2**32 - 1


def png(width: int, height: int, seed: int, shade: int = 0) -> bytes:
    """A real PNG of that size, coloured by seed (and `shade`, for successive previews)."""
    rng = random.Random(seed)
    colour = (rng.randrange(256), rng.randrange(256), (rng.randrange(256) + shade * 40) % 256)
    buf = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buf, "PNG")
    return buf.getvalue()


@dataclass
class Job:
    """What the server did with one generation request."""

    task_id: str
    body: dict[str, Any]
    img2img: bool
    steps_done: int = 0
    interrupted: bool = False


@dataclass
class FakeA1111:
    """See the module docstring. Call `install(server)` before the test sends anything.

    `faults` are served, one per generation POST and in order, instead of running the job: a
    `Reply`, or "truncated" / "not-image" (the job runs, the image in the answer is broken).
    """

    step_s: float = 0.02
    default_steps: int = 20
    auth: tuple[str, str] | None = None
    models: list[dict[str, Any]] = field(default_factory=lambda: list(MODELS))
    faults: list[Reply | str] = field(default_factory=list)
    jobs: list[Job] = field(default_factory=list)
    interrupted_tasks: list[str | None] = field(default_factory=list)
    current: Job | None = None
    interrupted_flag: bool = False
    """A1111's `state.interrupted`: set by every interrupt, cleared when a job begins."""
    _lock: asyncio.Lock | None = None
    _server: FakeServer | None = None

    @property
    def server(self) -> FakeServer:
        assert self._server is not None, "install() it first"
        return self._server

    def install(self, server: FakeServer) -> FakeA1111:
        self._server = server
        server.route("POST", "/sdapi/v1/txt2img", self._txt2img)
        server.route("POST", "/sdapi/v1/img2img", self._img2img)
        server.route("GET", "/sdapi/v1/progress", self._progress)
        server.route("POST", "/sdapi/v1/interrupt", self._interrupt)
        server.route("GET", "/sdapi/v1/sd-models", self._models)
        return self

    def start_foreign_job(self, steps: int, task_id: str = "task(webui-user)") -> None:
        """Start a job someone else sent (e.g. from the web UI) that holds the lock."""
        assert self._server is not None
        job = Job(task_id, {"steps": steps, "width": 64, "height": 64, "seed": 1}, False)

        async def start() -> None:
            asyncio.get_running_loop().create_task(self._run(job))
            while self.current is not job:
                await asyncio.sleep(0.005)

        self._server.call(start())

    # -- handlers -----------------------------------------------------------------------------

    async def _txt2img(self, request: web.Request) -> web.StreamResponse:
        return await self._generate(request, img2img=False)

    async def _img2img(self, request: web.Request) -> web.StreamResponse:
        return await self._generate(request, img2img=True)

    async def _generate(self, request: web.Request, *, img2img: bool) -> web.StreamResponse:
        denied = self._check_auth(request)
        if denied is not None:
            return denied
        body = await request.json()
        problems = _validate(body, img2img)
        if problems:
            return web.json_response({"detail": problems}, status=422)
        if body.get("sampler_name") not in (None, *SAMPLERS):
            return web.json_response({"detail": "Sampler not found"}, status=404)
        fault = self.faults.pop(0) if self.faults else None
        if isinstance(fault, Reply):
            return await fault.send(request)
        job = Job(str(body.get("force_task_id") or f"task({len(self.jobs)})"), body, img2img)
        self.jobs.append(job)
        seed, image = await self._run(job)
        encoded = base64.b64encode(image).decode()
        if fault == "truncated":
            encoded = base64.b64encode(image[: len(image) // 2]).decode()
        elif fault == "not-image":
            encoded = base64.b64encode(b"<html>Internal Server Error</html>").decode()
        params = {k: v for k, v in body.items() if k != "init_images"}
        return web.json_response(
            {"images": [encoded], "parameters": params, "info": json.dumps(_info(body, seed))}
        )

    async def _run(self, job: Job) -> tuple[int, bytes]:
        if self._lock is None:
            self._lock = asyncio.Lock()
        body = job.body
        seed = body.get("seed", -1)
        if seed == -1:
            seed = random.randrange(A1111_MAX_SEED)
        async with self._lock:
            self.current, self.interrupted_flag = job, False
            try:
                for _ in range(int(body.get("steps") or self.default_steps)):
                    if job.interrupted:
                        break
                    await asyncio.sleep(self.step_s)
                    job.steps_done += 1
            finally:
                self.current = None
        return seed, png(int(body.get("width", 512)), int(body.get("height", 512)), seed)

    async def _progress(self, request: web.Request) -> web.StreamResponse:
        denied = self._check_auth(request)
        if denied is not None:
            return denied
        job = self.current
        idle = {
            "skipped": False, "interrupted": False, "job": "", "job_count": 0,
            "job_timestamp": "0", "job_no": 0, "sampling_step": 0, "sampling_steps": 0,
        }  # fmt: skip
        idle["interrupted"] = self.interrupted_flag
        if job is None:
            return web.json_response(
                {
                    "progress": 0.0,
                    "eta_relative": 0.0,
                    "state": idle,
                    "current_image": None,
                    "textinfo": None,
                    "current_task": None,
                }  # fmt: skip
            )
        steps = int(job.body.get("steps") or self.default_steps)
        state = {**idle, "job": "scripts_txt2img", "job_count": 1, "sampling_step": job.steps_done,
                 "sampling_steps": steps}  # fmt: skip
        image = None
        if request.query.get("skip_current_image", "false") == "false" and job.steps_done:
            w, h = int(job.body.get("width", 512)), int(job.body.get("height", 512))
            image = base64.b64encode(png(min(w, 64), min(h, 64), 0, job.steps_done)).decode()
        return web.json_response(
            {
                "progress": min(1.0, 0.01 + job.steps_done / steps),
                "eta_relative": 1.0,
                "state": state,
                "current_image": image,
                "textinfo": None,
                "current_task": job.task_id,
            }  # fmt: skip
        )

    async def _interrupt(self, request: web.Request) -> web.StreamResponse:
        denied = self._check_auth(request)
        if denied is not None:
            return denied
        job = self.current
        self.interrupted_tasks.append(job.task_id if job else None)
        self.interrupted_flag = True
        if job is not None:
            job.interrupted = True
        return web.json_response({})

    async def _models(self, request: web.Request) -> web.StreamResponse:
        denied = self._check_auth(request)
        return denied if denied is not None else web.json_response(self.models)

    def _check_auth(self, request: web.Request) -> web.StreamResponse | None:
        if self.auth is None:
            return None
        expected = "Basic " + base64.b64encode(":".join(self.auth).encode()).decode()
        if request.headers.get("Authorization") == expected:
            return None
        return web.json_response(
            {"detail": "Incorrect username or password"},
            status=401,
            headers={"WWW-Authenticate": "Basic"},
        )


def _validate(body: Any, img2img: bool) -> list[dict[str, Any]]:
    """FastAPI-style 422 items for a body the API would refuse (see the module docstring)."""
    if not isinstance(body, dict):
        return [{"loc": ["body"], "msg": "value is not a valid dict", "type": "type_error.dict"}]
    allowed = IMG2IMG_FIELDS if img2img else TXT2IMG_FIELDS
    problems = [
        {"loc": ["body", key], "msg": "extra fields not permitted", "type": "value_error.extra"}
        for key in body
        if key not in allowed
    ]
    for key, kind in TYPES.items():
        value = body.get(key)
        if value is not None and (
            not isinstance(value, kind) or isinstance(value, bool) != (kind is bool)
        ):
            problems.append({"loc": ["body", key], "msg": "wrong type", "type": "type_error"})
    if img2img:
        images = body.get("init_images") or []
        if not images or not all(_is_image(i) for i in images):
            problems.append(
                {"loc": ["body", "init_images"], "msg": "not images", "type": "value_error"}
            )
    return problems


def _is_image(text: Any) -> bool:
    try:
        with Image.open(io.BytesIO(base64.b64decode(text, validate=True))) as im:
            im.load()
    except Exception:
        return False
    return True


def _info(body: dict[str, Any], seed: int) -> dict[str, Any]:
    prompt = body.get("prompt", "")
    settings = body.get("override_settings") or {}
    model = str(settings.get("sd_model_checkpoint", "sd15")).split(" [")[0].split(".")[0]
    return {
        "prompt": prompt,
        "all_prompts": [prompt],
        "negative_prompt": body.get("negative_prompt", ""),
        "seed": seed,
        "all_seeds": [seed],
        "subseed": 42,
        "width": body.get("width", 512),
        "height": body.get("height", 512),
        "sampler_name": body.get("sampler_name") or "Euler",
        "cfg_scale": body.get("cfg_scale", 7.0),
        "steps": body.get("steps", 20),
        "sd_model_name": model,
        "infotexts": [f"{prompt}\nSteps: {body.get('steps', 20)}, Seed: {seed}, Model: {model}"],
    }
