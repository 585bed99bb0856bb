"""Subcommands: backends, config, history, usage, view."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from imagen_tui.backends.errors import UsageError

if TYPE_CHECKING:
    from imagen_tui.backends.config import Config
    from imagen_tui.backends.store.history import HistoryStore
    from imagen_tui.backends.store.index_rows import ImageRow

from .cli import EXIT_OK, EXIT_USAGE, PROG, Parser, fail


def run(argv: Sequence[str]) -> int:
    parser = Parser(prog=PROG)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    p = sub.add_parser("backends", help="list backend types and configured instances")
    p.add_argument("name", nargs="?", help="a type or instance: show the options it accepts")
    p.add_argument("--config", metavar="PATH")
    p = sub.add_parser("config", help="init | validate | path")
    p.add_argument("action", choices=("init", "validate", "path"))
    p.add_argument("path", nargs="?", help="config file (validate; default: the resolved one)")
    p.add_argument("--config", metavar="PATH")
    p = sub.add_parser("history", help="list, search and reindex generated images")
    p.add_argument("--search", "-s", metavar="Q", help="full-text search over prompts")
    p.add_argument("--limit", type=int, default=20, metavar="N", help="at most N rows (default 20)")
    p.add_argument("--favourites", action="store_true", help="favourites only")
    p.add_argument("--trashed", action="store_true", help="trashed images only")
    p.add_argument("--json", action="store_true", help="one JSON object per image")
    p.add_argument("--reindex", action="store_true", help="rebuild the index from the files")
    p.add_argument("--config", metavar="PATH")
    p = sub.add_parser("usage", help="images and spend per backend")
    p.add_argument("--json", action="store_true")
    p.add_argument("--config", metavar="PATH")
    p = sub.add_parser("view", help="full-screen viewer for one image (what img: windows run)")
    p.add_argument("path", help="image file")
    p.add_argument("--config", metavar="PATH")
    opts = parser.parse_args(argv)
    handler = {
        "backends": cmd_backends,
        "config": cmd_config,
        "history": cmd_history,
        "usage": cmd_usage,
        "view": cmd_view,
    }[opts.command]
    return handler(opts)


def _config(opts: argparse.Namespace) -> Config:
    from imagen_tui.backends.config import load_config, resolve_config_path

    return load_config(resolve_config_path(opts.config))


def cmd_config(opts: argparse.Namespace) -> int:
    from imagen_tui.backends.config import resolve_config_path, sample_config, validate_file

    if opts.action == "init":
        sys.stdout.write(sample_config())
        return EXIT_OK
    path = Path(opts.path) if opts.path else resolve_config_path(opts.config)
    if opts.action == "path":
        print(path)
        return EXIT_OK
    if not path.exists():
        explicit = opts.path or opts.config or os.environ.get("IMAGEN_TUI_CONFIG")
        if not explicit:  # no file at the default place is a valid set-up: the defaults
            print(f"{path}: no config file; built-in defaults in use ({PROG} config init)")
            return EXIT_OK
        fail(f"config error: {path} does not exist (create it: {PROG} config init > {path})")
        return EXIT_USAGE
    problems = validate_file(path)
    for problem in problems:
        fail(f"config error: {problem}")
    if problems:
        return EXIT_USAGE
    print(f"{path}: ok")
    return EXIT_OK


def cmd_backends(opts: argparse.Namespace) -> int:
    from . import backends_report

    config = _config(opts)
    if opts.name:
        print(backends_report.describe_options(config, opts.name))
    else:
        print(backends_report.overview(config))
    return EXIT_OK


def _store(opts: argparse.Namespace) -> HistoryStore:
    from imagen_tui.backends.store.history import HistoryStore

    config = _config(opts)
    out = config.output
    return HistoryStore(out.dir, out.naming, sidecar=out.sidecar)


def cmd_history(opts: argparse.Namespace) -> int:
    if opts.limit < 1:
        raise UsageError(f"--limit must be at least 1, got {opts.limit}")
    store = _store(opts)
    index = store.index
    if opts.reindex:
        indexed = index.reindex()
        skipped = index.last_reindex.skipped if index.last_reindex else 0
        note = f", {skipped} unreadable sidecars skipped" if skipped else ""
        print(f"reindexed {store.output_dir}: {indexed} images{note}", file=sys.stderr)
    rows = index.search(
        opts.search, limit=opts.limit, favourites=opts.favourites, trashed=opts.trashed
    )
    for row in rows:
        if opts.json:
            print(json.dumps(_row_json(row)))
        else:
            fav = "*" if row.favourite else " "
            print(f"{fav} {row.path}\t{_one_line(row.prompt, 80)}")
    index.close()
    return EXIT_OK


def _row_json(row: ImageRow) -> dict[str, Any]:
    data = dataclasses.asdict(row)
    del data["id"], data["metadata"]
    return data


def _one_line(text: str, width: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def cmd_usage(opts: argparse.Namespace) -> int:
    store = _store(opts)
    rows = store.index.usage()
    store.index.close()
    if opts.json:
        print(json.dumps(rows))
        return EXIT_OK
    if not rows:
        print("no images yet")
    for row in rows:
        cost = row.get("cost_usd") or 0.0
        print(f"{row['backend']:<20} {row['images']:>7} images  ${cost:,.4f}")
    return EXIT_OK


def cmd_view(opts: argparse.Namespace) -> int:
    path = Path(opts.path).expanduser()
    if not path.is_file():
        raise UsageError(f"view: no such image: {opts.path}")
    config = _config(opts)
    from .viewer import run_viewer

    return run_viewer(path.resolve(), config.preview.renderer)
