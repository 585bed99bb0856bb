"""`imagen-tui --once`: the headless face. No Textual; httpx only for backends that need it."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from imagen_tui.backends.base import Backend
from imagen_tui.backends.config import Config, load_config, resolve_config_path
from imagen_tui.backends.engine import Engine
from imagen_tui.backends.errors import ConfigError, ErrorCode, ImagenError, UsageError
from imagen_tui.backends.models import (
    MAX_SEED,
    MAX_SIDE,
    MIN_SIDE,
    GenerationRequest,
    Job,
    JobState,
)
from imagen_tui.backends.store.history import HistoryStore

from .cli import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, fail
from .progress_line import ProgressLine

DEFAULT_SIZE = (1024, 1024)


def read_prompt(value: str) -> str:
    text = sys.stdin.read() if value == "-" else value
    text = text.strip()
    if not text:
        hint = "pipe some text in" if value == "-" else 'give some text, e.g. --once "a red fox"'
        raise UsageError(f"empty prompt: {hint}")
    return text


def parse_size(value: str | None) -> tuple[int, int]:
    if value is None:
        return DEFAULT_SIZE
    parts = value.lower().replace("×", "x").split("x")
    rng = f"each side must be {MIN_SIDE}-{MAX_SIDE} pixels, e.g. --size 1024x768"
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise UsageError(f"invalid --size {value!r}: use WIDTHxHEIGHT; {rng}")
    width, height = (int(p) for p in parts)
    if not (MIN_SIDE <= width <= MAX_SIDE and MIN_SIDE <= height <= MAX_SIDE):
        raise UsageError(f"--size {value} is out of range: {rng}")
    return width, height


def parse_options(items: list[str]) -> dict[str, str]:
    options: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"invalid -o {item!r}: use -o KEY=VALUE, e.g. -o steps=20")
        options[key.strip()] = value
    return options


def check_references(paths: list[str]) -> tuple[Path, ...]:
    from PIL import Image, UnidentifiedImageError

    checked = []
    for raw in paths:
        path = Path(raw).expanduser()
        if not path.is_file():
            raise UsageError(f"--ref {raw}: no such file")
        try:
            with Image.open(path) as img:
                img.verify()
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
            raise UsageError(f"--ref {raw}: not an image Pillow can read") from None
        checked.append(path.resolve())
    return tuple(checked)


def check_numbers(opts: argparse.Namespace) -> None:
    if opts.seed is not None and not 0 <= opts.seed <= MAX_SEED:
        raise UsageError(f"--seed must be 0-{MAX_SEED}, got {opts.seed}")
    if opts.steps is not None and not 1 <= opts.steps <= 500:
        raise UsageError(f"--steps must be 1-500, got {opts.steps}")
    if not 1 <= opts.count <= 64:
        raise UsageError(f"-n must be 1-64, got {opts.count}")


def flag_overrides(opts: argparse.Namespace) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    if opts.output:
        overrides["output.dir"] = opts.output
    if opts.no_sidecar:
        overrides["output.sidecar"] = False
    if opts.preview:
        overrides["preview.mode"] = opts.preview
    return overrides


def _flag_lookup(flag: str, lookup: Callable[[str], object], name: str) -> None:
    """A flag naming an instance or style the config lacks is a usage error (exit 2)."""
    try:
        lookup(name)
    except ConfigError as exc:
        raise UsageError(f"{flag}: {exc}") from None


def build_request(opts: argparse.Namespace, config: Config) -> GenerationRequest:
    check_numbers(opts)
    prompt = read_prompt(opts.once)
    width, height = parse_size(opts.size)
    backend = opts.backend or config.default_backend
    _flag_lookup(f"--backend {backend}", config.instance, backend)
    if opts.style:
        _flag_lookup(f"--style {opts.style}", config.style, opts.style)
    return GenerationRequest(
        prompt=prompt,
        negative=opts.negative,
        width=width,
        height=height,
        seed=opts.seed,
        steps=opts.steps,
        style=opts.style,
        count=opts.count,
        references=check_references(opts.ref),
        backend=backend,
        options=parse_options(opts.options),
    )


def run_once(opts: argparse.Namespace) -> int:
    """Generate, print one line per image, return the exit code."""
    config = load_config(resolve_config_path(opts.config), overrides=flag_overrides(opts))
    request = build_request(opts, config)
    store = HistoryStore(config.output.dir, config.output.naming, sidecar=config.output.sidecar)
    problem = store.check_writable()
    if problem:
        fail(f"error: {problem}; choose another with --output DIR or [output] dir")
        return EXIT_FAILED
    engine = Engine(config, store)
    backend = _prepare_backend(engine, request)
    if (reason := backend.readiness()) is not None:
        err = ImagenError(ErrorCode.AUTH_MISSING, f"backend {backend.name!r}: {reason}")
        fail(f"{err.code}: {err.message}")
        return EXIT_FAILED
    show = sys.stderr.isatty() and not opts.quiet
    jobs, interrupted = asyncio.run(_generate(engine, request, ProgressLine() if show else None))
    return _report(jobs, interrupted, opts, config)


def _prepare_backend(engine: Engine, request: GenerationRequest) -> Backend:
    from pydantic import ValidationError

    try:
        return engine.backend(request.backend, request.options)
    except ValidationError as exc:
        problems = [
            f"-o {'.'.join(str(p) for p in e['loc']) or '?'}: {e['msg']}" for e in exc.errors()
        ]
        hint = f"see `imagen-tui backends {request.backend}` for the options it accepts"
        raise UsageError("; ".join(problems) + f" ({hint})") from None


async def _generate(
    engine: Engine, request: GenerationRequest, progress: ProgressLine | None
) -> tuple[list[Job], bool]:
    loop = asyncio.get_running_loop()
    interrupted = False

    def interrupt() -> None:
        nonlocal interrupted
        interrupted = True
        engine.cancel_all()

    loop.add_signal_handler(signal.SIGINT, interrupt)
    loop.add_signal_handler(signal.SIGTERM, interrupt)
    if progress:
        engine.events.subscribe(progress.on_event)
    try:
        jobs = await engine.run(request)
    finally:
        await engine.aclose()
        if progress:
            progress.clear()
        if engine.store is not None:
            engine.store.close()
    return jobs, interrupted


def _report(jobs: list[Job], interrupted: bool, opts: argparse.Namespace, config: Config) -> int:
    for job in jobs:
        if job.state is JobState.DONE:
            print(json.dumps(job_summary(job)) if opts.json else job.output_path, flush=True)
        elif job.state is JobState.FAILED:
            fail(f"{job.error_code}: {job.error_message}")
    if interrupted:
        fail("interrupted: cancelled, no partial files left")
        return EXIT_INTERRUPTED
    done = [j for j in jobs if j.state is JobState.DONE]
    if done:
        _maybe_preview(done[0], config)
    return EXIT_OK if len(done) == len(jobs) else EXIT_FAILED


def job_summary(job: Job) -> dict[str, Any]:
    req = job.request
    return {
        "path": job.output_path,
        "sidecar": job.sidecar_path,
        "prompt": job.user_prompt or req.prompt,
        "seed": job.seed,
        "backend": req.backend,
        "size": req.size,
        "cost": job.cost_usd,
        "duration": round(job.elapsed, 3),
        "job_id": job.id,
    }


def _maybe_preview(job: Job, config: Config) -> None:
    from . import tmux

    mode = config.preview.mode
    if mode == "off" or job.output_path is None:
        return
    if mode == "auto" and not (tmux.in_tmux() and sys.stdout.isatty()):
        return
    from imagen_tui.backends.store.files import slugify

    result = tmux.open_image_window(Path(job.output_path), slugify(job.user_prompt))
    if not result.ok:
        fail(f"preview: {result.error}")
