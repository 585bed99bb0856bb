"""`imagen-tui --once`: the headless face. No Textual; httpx only for backends that need it."""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path
from typing import Any

from imagen_tui.backends import (
    Engine,
    GenerationRequest,
    ImagenError,
    Job,
    JobState,
    Prepared,
    slugify,
    visible,
)

from .exit import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, UsageError, fail
from .progress_line import ProgressLine

STOP_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)
)
"""Besides Ctrl-C, what cancels a run: `kill`, a script's timeout, its pane or terminal closed."""

# The flag that sets each request field: `Engine.prepare` names fields, users know flags.
FLAGS = {
    "prompt": "--once",
    "negative": "--negative",
    "width": "--size",
    "height": "--size",
    "size": "--size",
    "seed": "--seed",
    "steps": "--steps",
    "count": "-n",
    "style": "--style",
    "backend": "--backend",
    "references": "--ref",
    "budget": "budget",
}


def read_prompt(value: str) -> str:
    """The prompt, from the argument or (for "-") stdin; UsageError when empty or not UTF-8."""
    if value == "-":
        from imagen_tui.backends import MAX_PROMPT_CHARS

        limit = MAX_PROMPT_CHARS * 4  # UTF-8 takes at most 4 bytes a character
        data = sys.stdin.buffer.read(limit + 1)
        if len(data) > limit:
            raise UsageError(f"the prompt on stdin is longer than {MAX_PROMPT_CHARS} characters")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise UsageError(
                f"stdin is not UTF-8 text (byte {exc.start}); convert it first"
            ) from None
    else:
        text = value
    if any(0xDC80 <= ord(c) <= 0xDCFF for c in text):  # undecodable argv bytes
        raise UsageError("the prompt is not valid UTF-8 text; check your terminal's encoding")
    text = text.strip()
    if not text:
        hint = "pipe some text in" if value == "-" else 'give some text, e.g. --once "a red fox"'
        raise UsageError(f"empty prompt: {hint}")
    return text


def parse_size(value: str | None) -> tuple[int, int] | None:
    """`WxH` (or `W×H`) → (width, height); None when not given. Ranges are checked by prepare."""
    if value is None:
        return None
    parts = value.lower().replace("×", "x").split("x")
    if len(parts) != 2 or not all(p.strip().isascii() and p.strip().isdigit() for p in parts):
        raise UsageError(f"invalid --size {value!r}: use WIDTHxHEIGHT, e.g. --size 1024x768")
    width, height = (int(p) for p in parts)
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
    """Each --ref must be a readable regular file; whether it decodes is the backend's call."""
    checked = []
    for raw in paths:
        path = Path(raw).expanduser()
        try:
            if not path.is_file():
                what = "is a directory" if path.is_dir() else "is not a regular file"
                raise UsageError(f"--ref {raw}: {what if path.exists() else 'no such file'}")
            with open(path, "rb") as fh:
                fh.read(1)
        except OSError as exc:
            raise UsageError(f"--ref {raw}: cannot read it ({exc.strerror})") from None
        checked.append(path.resolve())
    return tuple(checked)


def flag_overrides(opts: argparse.Namespace) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    if opts.output is not None:  # `--output ""` is an error to report, not "no flag"
        overrides["output.dir"] = opts.output
    if opts.no_sidecar:
        overrides["output.sidecar"] = False
    if opts.preview:
        overrides["preview.mode"] = opts.preview
    return overrides


def build_request(opts: argparse.Namespace) -> GenerationRequest:
    size = parse_size(opts.size)
    extra = {} if size is None else {"width": size[0], "height": size[1]}
    return GenerationRequest(
        prompt=read_prompt(opts.once),
        negative=opts.negative,
        seed=opts.seed,
        steps=opts.steps,
        style=opts.style,
        count=opts.count,
        references=check_references(opts.ref),
        backend=opts.backend or "",
        options=parse_options(opts.options),
        **extra,
    )


def usage_error(prepared: Prepared) -> UsageError:
    """Every problem of a request, named by the flag that set it."""
    lines = []
    for problem in prepared.problems:
        name = problem.field
        option = name == "options" or name.startswith("options.")
        flag = f"-o {name[len('options.') :]}".rstrip() if option else FLAGS.get(name, name)
        line = f"{flag}: {problem.message}"
        if line not in lines:  # width and height share --size
            lines.append(line)
    hint = ""
    if any(p.field.startswith("options") for p in prepared.problems):
        hint = f" (see `imagen-tui backends {prepared.backend}` for the options it accepts)"
    return UsageError("; ".join(lines) + hint)


def run_once(opts: argparse.Namespace) -> int:
    """Generate, print one line per image, return the exit code."""
    request = build_request(opts)
    engine = Engine.open(opts.config, overrides=flag_overrides(opts))
    return run_request(engine, request, opts)


def run_request(engine: Engine, request: GenerationRequest, opts: argparse.Namespace) -> int:
    """Prepare, check, generate and report one request (`--once`, `rerun`); the exit code.
    `opts` needs `json` and `quiet`."""
    prepared = engine.prepare(request)
    if not prepared.ok:
        raise usage_error(prepared)
    for note in prepared.warnings:
        fail(f"warning: {note}")
    problem = engine.history.check_writable()
    if problem:
        fail(f"error: {problem}; choose another with --output DIR or [output] dir")
        return EXIT_FAILED
    if prepared.readiness is not None:
        try:
            engine.backend(prepared.backend).require_ready()
        except ImagenError as err:  # a missing key: exit 1 (a ConfigError exits 2 in main)
            fail(f"{err.code}: {err.message}")
            return EXIT_FAILED
    show = sys.stderr.isatty() and not opts.quiet
    progress = ProgressLine() if show else None
    if engine.runs_inline(prepared) and engine.start_inline():
        jobs, interrupted = _generate_inline(engine, prepared, progress)
    else:
        import asyncio  # only jobs that wait on something pay for the loop's start-up

        jobs, interrupted = asyncio.run(_generate(engine, prepared, progress))
    return _report(jobs, interrupted, opts, engine)


def _generate_inline(
    engine: Engine, prepared: Prepared, progress: ProgressLine | None
) -> tuple[list[Job], bool]:
    """One quick local image in this thread (`Engine.run_inline`): Ctrl-C, SIGTERM and SIGHUP
    cancel it, as on the loop."""
    previous = {sig: signal.signal(sig, signal.default_int_handler) for sig in STOP_SIGNALS}
    if progress:
        engine.subscribe(progress.on_event)
    interrupted = False
    try:
        engine.run_inline(prepared)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if progress:
            progress.clear()
        engine.history.close()
    return engine.jobs(), interrupted


async def _generate(
    engine: Engine, prepared: Prepared, progress: ProgressLine | None
) -> tuple[list[Job], bool]:
    import asyncio

    loop = asyncio.get_running_loop()
    interrupted = False

    def interrupt() -> None:
        nonlocal interrupted
        interrupted = True
        engine.cancel_all()

    for sig in (signal.SIGINT, *STOP_SIGNALS):
        loop.add_signal_handler(sig, interrupt)
    if progress:
        engine.subscribe(progress.on_event)
    try:
        await engine.start()
        jobs = await engine.run(prepared)
    finally:
        await engine.aclose()
        if progress:
            progress.clear()
        engine.history.close()
    return jobs, interrupted


def _report(jobs: list[Job], interrupted: bool, opts: argparse.Namespace, engine: Engine) -> int:
    for job in jobs:
        if job.state is JobState.DONE:
            print(
                json.dumps(job_summary(job)) if opts.json else _shown(job.output_path), flush=True
            )
        elif job.state is JobState.FAILED:
            fail(f"{job.error_code}: {job.error_message}")
        elif job.state is JobState.CANCELLED and not interrupted:
            fail(f"cancelled: job {job.id} was cancelled (imagen-tui cancel, or the workbench)")
    if interrupted:
        fail("interrupted: cancelled, no partial files left")
        return EXIT_INTERRUPTED
    done = [j for j in jobs if j.state is JobState.DONE]
    if done:
        _maybe_preview(done[0], engine.config.preview.mode, engine.config.source)
    return EXIT_OK if len(done) == len(jobs) else EXIT_FAILED


def _shown(path: str | None) -> str:
    """The path exactly for scripts; on a terminal with control characters made visible (a
    folder name from a config could hold an escape sequence)."""
    text = path or ""
    return visible(text) if sys.stdout.isatty() else text


def job_summary(job: Job) -> dict[str, Any]:
    """The `--json` object of one finished image (size is the saved image's, in pixels)."""
    from imagen_tui.backends import read_header

    req = job.request
    size = req.size
    if job.output_path:
        try:
            header = read_header(job.output_path)
        except OSError:
            header = None
        if header is not None:
            size = f"{header.width}x{header.height}"
    return {
        "path": job.output_path,
        "sidecar": job.sidecar_path,
        "prompt": job.user_prompt or req.prompt,
        "seed": job.seed,
        "backend": req.backend,
        "size": size,
        "cost": job.cost_usd,
        "duration": round(job.elapsed, 3),
        "job_id": job.id,
    }


def _maybe_preview(job: Job, mode: str, config: Path | None = None) -> None:
    if mode == "off" or job.output_path is None:
        return
    if mode == "auto" and not sys.stdout.isatty():  # a script: no window, no tmux import
        return
    from . import tmux

    if mode == "auto" and not tmux.in_tmux():
        return
    result = tmux.open_image_window(Path(job.output_path), slugify(job.user_prompt), config=config)
    if not result.ok:
        fail(f"preview: {result.error}")
