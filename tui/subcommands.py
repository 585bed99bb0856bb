"""Subcommands: backends, config, history, usage, view, jobs, cancel."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from imagen_tui.backends import StoreError, one_line, visible

from .exit import EXIT_FAILED, EXIT_OK, EXIT_USAGE, PROG, Parser, UsageError, fail

if TYPE_CHECKING:
    from imagen_tui.backends import Engine, HistoryStore, ImageRow, Job


MAX_LIMIT = 1_000_000


def limit(text: str) -> int:
    """`--limit N`: a whole number 1..1,000,000 (argparse reports the error as usage)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 1 <= value <= MAX_LIMIT:
        raise argparse.ArgumentTypeError(f"must be 1-{MAX_LIMIT:,}, got {text}")
    return value


def run(argv: Sequence[str]) -> int:
    """Parse `argv` (a subcommand first) and run that subcommand; its exit code."""
    parser = Parser(prog=PROG)
    # prog given: argparse would build a HelpFormatter (and import shutil) just to compute it
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser, prog=PROG)
    chosen = argv[0] if argv else None
    handlers: dict[str, Any] = {}
    for name, (add, handler) in _COMMANDS.items():
        # Only the chosen command's parser: each costs ~0.5 ms (argparse asks gettext for
        # its headings), a tenth of a history listing for parsers it never uses.
        if chosen == name or chosen not in _COMMANDS:
            add(sub)
            handlers[name] = handler
    if chosen not in _COMMANDS:  # library_commands' own, or help listing them all
        from .library_commands import register

        handlers.update(register(sub))
    opts = parser.parse_args(argv)
    handler = handlers[opts.command]
    return handler(opts)


def _add_backends(sub: Any) -> None:
    p = sub.add_parser("backends", help="list backend types and configured instances")
    p.add_argument("name", nargs="?", help="a type or instance: show the options it accepts")
    p.add_argument("--config", metavar="PATH")


def _add_config(sub: Any) -> None:
    p = sub.add_parser("config", help="init | validate (or check) | path")
    p.add_argument("action", choices=("init", "validate", "check", "path"))
    p.add_argument("path", nargs="?", help="config file (validate; default: the resolved one)")
    p.add_argument("--config", metavar="PATH")


def _add_history(sub: Any) -> None:
    p = sub.add_parser("history", help="list, search and reindex generated images")
    p.add_argument(
        "--search",
        "-s",
        metavar="Q",
        help="search prompts, negative prompts and "
        'models: words, "phrases", 猫, C++, model:X backend:X seed:N negative:X',
    )
    p.add_argument(
        "--limit", type=limit, default=20, metavar="N", help="at most N rows (default 20)"
    )
    p.add_argument("--favourites", action="store_true", help="favourites only")
    p.add_argument("--trashed", action="store_true", help="trashed images only")
    p.add_argument("--json", action="store_true", help="one JSON object per image")
    p.add_argument("--reindex", action="store_true", help="rebuild the index from the files")
    p.add_argument("--config", metavar="PATH")


def _add_usage(sub: Any) -> None:
    p = sub.add_parser("usage", help="images and spend per backend")
    p.add_argument("--json", action="store_true")
    p.add_argument("--config", metavar="PATH")


def _add_view(sub: Any) -> None:
    p = sub.add_parser("view", help="full-screen viewer for one image (what img: windows run)")
    p.add_argument("path", help="image file")
    p.add_argument(
        "--renderer", metavar="NAME", help="auto|kitty|sixel|halfcell|unicode|off (default: config)"
    )
    p.add_argument("--config", metavar="PATH")


def _add_jobs(sub: Any) -> None:
    p = sub.add_parser("jobs", help="jobs of every process, newest first")
    p.add_argument(
        "--limit", type=limit, default=20, metavar="N", help="at most N jobs (default 20)"
    )
    p.add_argument("--state", choices=("queued", "running", "done", "failed", "cancelled"),
                   action="append", help="only jobs in this state (repeatable)")  # fmt: skip
    p.add_argument("--json", action="store_true", help="one JSON object per job")
    p.add_argument("--config", metavar="PATH")


def _add_cancel(sub: Any) -> None:
    p = sub.add_parser("cancel", help="cancel a queued or running job, in any process")
    p.add_argument("job_id", help="the id `imagen-tui jobs` shows")
    p.add_argument("--config", metavar="PATH")


def _engine(opts: argparse.Namespace) -> Engine:
    from imagen_tui.backends import Engine

    return Engine.open(opts.config)


def cmd_config(opts: argparse.Namespace) -> int:
    from imagen_tui.backends import resolve_config_path, sample_config, validate_file

    if opts.path and opts.action in ("init", "path"):
        fail(f"error: config {opts.action} takes no file; use --config PATH to choose one")
        return EXIT_USAGE
    if opts.action == "init":
        sys.stdout.write(sample_config())
        return EXIT_OK
    path = Path(opts.path) if opts.path else resolve_config_path(opts.config)
    if opts.action == "path":  # exact for `$(imagen-tui config path)`; a terminal sees it safely
        print(visible(str(path)) if _is_terminal(sys.stdout) else path)
        return EXIT_OK
    if not path.exists():
        explicit = opts.path or opts.config or os.environ.get("IMAGEN_TUI_CONFIG")
        if not explicit:  # no file at the default place is a valid set-up: the defaults
            shown = visible(str(path))
            print(f"{shown}: no config file; built-in defaults in use ({PROG} config init)")
            return EXIT_OK
        fail(f"config error: {path} does not exist (create it: {PROG} config init > {path})")
        return EXIT_USAGE
    problems = validate_file(path) or _key_problems(path)
    for problem in problems:
        fail(f"config error: {problem}")
    if problems:
        return EXIT_USAGE
    print(f"{path}: ok")
    return EXIT_OK


def _key_problems(path: Path) -> list[str]:
    """What the workbench would refuse in `[keys]` (it keeps the defaults for those ids)."""
    from imagen_tui.backends import load_config

    from .bindings import validate_overrides

    return validate_overrides(load_config(path).keys)[1]


def cmd_backends(opts: argparse.Namespace) -> int:
    from . import backends_report

    engine = _engine(opts)
    if opts.name:
        print(backends_report.describe_options(engine, opts.name))
    else:
        print(backends_report.overview(engine))
    return EXIT_OK


def _store(opts: argparse.Namespace) -> HistoryStore:
    from imagen_tui.backends import HistoryStore

    return HistoryStore.open(opts.config)


def cmd_history(opts: argparse.Namespace) -> int:
    if opts.limit < 1:
        raise UsageError(f"--limit must be at least 1, got {opts.limit}")
    from imagen_tui.backends import HistoryStore

    try:
        HistoryStore.check_query(opts.search)  # nothing to search for: a usage error
    except StoreError as exc:
        raise UsageError(f"--search: {exc.message}") from None
    store = _store(opts)
    if opts.reindex:
        from .library_commands import reindex_with_progress

        result = reindex_with_progress(store)
        note = (
            f" ({result.skipped} with an unreadable sidecar: listed from the image itself)"
            if result.skipped
            else ""
        )
        print(f"reindexed {store.output_dir}: {result.indexed} images{note}", file=sys.stderr)
    page = store.page(
        opts.search, limit=opts.limit, favourites=opts.favourites, trashed=opts.trashed
    )
    for row in page.rows:
        if opts.json:
            print(json.dumps(_row_json(row)))
        else:
            fav = "*" if row.favourite else " "
            print(f"{fav} {one_line(row.path, None)}\t{one_line(row.prompt, 80)}")
    store.close()
    return EXIT_OK


def _row_json(row: ImageRow) -> dict[str, Any]:
    """The row's fields but `id` and `metadata`, in field order. Its values are plain JSON
    scalars, so no deep copy (`dataclasses.asdict` took ~3 ms of a 50-row listing)."""
    names = [f.name for f in dataclasses.fields(row) if f.name not in ("id", "metadata")]
    return {name: getattr(row, name) for name in names}


def cmd_usage(opts: argparse.Namespace) -> int:
    store = _store(opts)
    rows = store.usage()
    store.close()
    if opts.json:
        print(json.dumps(rows))
        return EXIT_OK
    if not rows:
        print("no images yet")
        return EXIT_OK
    print(f"{'day':<10}  {'backend':<16} {'model':<28} {'images':>7}  {'USD':>10}")
    for row in rows:
        cost = row.get("cost_usd") or 0.0
        backend, model = one_line(row["backend"], 16), one_line(row["model"] or "—", 28)
        print(f"{row['day']:<10}  {backend:<16} {model:<28} {row['images']:>7}  {cost:>10.4f}")
    total = sum(row.get("cost_usd") or 0.0 for row in rows)
    print(f"{'total':<10}  {'':<16} {'':<28} {sum(r['images'] for r in rows):>7}  {total:>10.4f}")
    return EXIT_OK


def cmd_view(opts: argparse.Namespace) -> int:
    from imagen_tui.backends import read_header

    path = Path(opts.path).expanduser()
    if not path.is_file():
        raise UsageError(f"view: no such image: {opts.path}")
    try:
        header = read_header(path)
    except OSError as exc:
        raise UsageError(f"view: cannot read {opts.path}: {exc.strerror}") from None
    if header is None:
        raise UsageError(f"view: {opts.path} is not a PNG, JPEG, WebP or GIF image")
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UsageError("view needs a terminal (it is what img: tmux windows run)")
    engine = _engine(opts)
    from .viewer import run_viewer

    return run_viewer(path.resolve(), opts.renderer, engine.config.preview.renderer)


def cmd_jobs(opts: argparse.Namespace) -> int:
    if opts.limit < 1:
        raise UsageError(f"--limit must be at least 1, got {opts.limit}")
    import asyncio  # only the commands that run the engine pay for it

    engine = _engine(opts)
    asyncio.run(engine.start())  # marks jobs of dead processes, so the list tells the truth
    jobs = engine.list_jobs(states=set(opts.state) if opts.state else None, limit=opts.limit)
    for job in jobs:
        print(json.dumps(_job_json(job)) if opts.json else _job_line(job))
    if not jobs and not opts.json:
        print("no jobs yet", file=sys.stderr)
    return EXIT_OK


def _job_json(job: Job) -> dict[str, Any]:
    return {
        "id": job.id, "state": str(job.state), "backend": job.request.backend,
        "prompt": job.user_prompt or job.request.prompt, "progress": round(job.progress, 3),
        "message": job.message, "seed": job.seed, "created_at": job.created_at,
        "updated_at": job.updated_at, "started_at": job.started_at,
        "finished_at": job.finished_at, "error_code": job.error_code,
        "error_message": job.error_message, "output_path": job.output_path,
        "cost_usd": job.cost_usd, "pid": job.pid, "remote_id": job.remote_id,
        "cancel_requested": job.cancel_requested,
    }  # fmt: skip


def _job_line(job: Job) -> str:
    status = str(job.state)
    if job.state.value == "running":
        status = f"running {job.progress:.0%}"
    detail = job.output_path or job.error_message or job.message or ""
    prompt = one_line(job.user_prompt or job.request.prompt, 40)
    backend = one_line(job.request.backend, 12)
    return f"{job.id}  {status:<12} {backend:<12} {prompt:<40} {one_line(detail, None)}"


def cmd_cancel(opts: argparse.Namespace) -> int:
    import asyncio

    job_id = opts.job_id.strip()
    if not job_id or len(job_id) > 64 or not (job_id.isascii() and job_id.isalnum()):
        raise UsageError(
            f"{one_line(opts.job_id)!r} is not a job id: give one from `{PROG} jobs`, "
            "e.g. 3f9a1c2b7d40"
        )
    opts.job_id = job_id
    engine = _engine(opts)

    async def cancel() -> bool:
        await engine.start(settle_orphans=False)
        try:
            return await engine.cancel(opts.job_id)
        finally:
            await engine.aclose()

    if asyncio.run(cancel()):
        print(f"cancel requested for job {opts.job_id}; its process stops it within a second")
        return EXIT_OK
    fail(f"error: no queued or running job {one_line(opts.job_id)} (see {PROG} jobs)")
    return EXIT_FAILED


_COMMANDS: dict[str, tuple[Callable[[Any], None], Callable[[argparse.Namespace], int]]] = {
    "backends": (_add_backends, cmd_backends),
    "config": (_add_config, cmd_config),
    "history": (_add_history, cmd_history),
    "usage": (_add_usage, cmd_usage),
    "view": (_add_view, cmd_view),
    "jobs": (_add_jobs, cmd_jobs),
    "cancel": (_add_cancel, cmd_cancel),
}
"""Each subcommand of this module: (adds its parser to the subparsers, runs it)."""


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # replaced or closed stdout
        return False
