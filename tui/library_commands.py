"""Subcommands over the history's files: trash, restore, purge, library, rerun."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Any, TextIO

from imagen_tui.backends import HistoryStore, ImagenTuiError, StoreError, one_line

from .exit import EXIT_FAILED, EXIT_OK, PROG, UsageError, fail

Handler = Callable[[argparse.Namespace], int]


def register(sub: Any) -> dict[str, Handler]:
    """Add the parsers to `sub` (argparse subparsers); returns command → handler."""
    for name, verb in (("trash", "move into the trash"), ("restore", "bring back from the trash")):
        p = sub.add_parser(name, help=f"{verb} (image and sidecar together)")
        p.add_argument("paths", nargs="+", metavar="PATH", help="image files")
        p.add_argument("--json", action="store_true", help="one JSON object per image")
        p.add_argument("--config", metavar="PATH")
    p = sub.add_parser("purge", help="delete every trashed image for good")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.add_argument("--json", action="store_true", help="one JSON object per deleted image")
    p.add_argument("--config", metavar="PATH")
    p = sub.add_parser("library", help="folders of images indexed in place: add | remove | list")
    p.add_argument("action", choices=("add", "remove", "list"))
    p.add_argument("dir", nargs="?", help="a folder (add, remove)")
    p.add_argument("--json", action="store_true", help="list as JSON")
    p.add_argument("--config", metavar="PATH")
    p = sub.add_parser("rerun", help="make an image again from its recipe (any tool's)")
    p.add_argument("path", help="image file")
    p.add_argument("--backend", metavar="NAME", help="another backend instance")
    p.add_argument("--seed", type=int, metavar="N", help="another seed")
    p.add_argument("--json", action="store_true", help="print one JSON object per image")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress line")
    p.add_argument("--config", metavar="PATH")
    return {
        "trash": cmd_move,
        "restore": cmd_move,
        "purge": cmd_purge,
        "library": cmd_library,
        "rerun": cmd_rerun,
    }


def cmd_move(opts: argparse.Namespace) -> int:
    """`trash`/`restore` PATH...: each path on its own; exit 1 if any failed."""
    store = HistoryStore.open(opts.config)
    move = store.trash if opts.command == "trash" else store.restore
    failed = 0
    for raw in opts.paths:
        try:
            moved = move(Path(raw).expanduser().absolute())
        except ImagenTuiError as exc:
            failed += 1
            fail(f"error: {exc.message}")
            continue
        if opts.json:
            print(json.dumps({"path": str(Path(raw)), "now": str(moved), "action": opts.command}))
        else:
            print(moved)
    store.close()
    return EXIT_FAILED if failed else EXIT_OK


def cmd_purge(opts: argparse.Namespace) -> int:
    store = HistoryStore.open(opts.config)
    rows = []
    page = store.page(trashed=True, limit=500)
    rows += page.rows
    while page.next is not None:
        page = store.page(trashed=True, limit=500, after=page.next)
        rows += page.rows
    if not rows:
        print("the trash is empty", file=sys.stderr)
        return EXIT_OK
    if not opts.yes and not _confirm(f"delete {len(rows)} trashed images for good? [y/N] "):
        raise UsageError(f"purge would delete {len(rows)} images for good; add --yes to confirm")
    failed = 0
    for row in rows:
        try:
            store.purge(Path(row.path))
        except StoreError as exc:
            failed += 1
            fail(f"error: {exc.message}")
            continue
        print(json.dumps({"path": row.path, "action": "purged"}) if opts.json else row.path)
    store.close()
    return EXIT_FAILED if failed else EXIT_OK


def _confirm(question: str) -> bool:
    if not sys.stdin.isatty():
        return False
    print(question, end="", file=sys.stderr, flush=True)
    return sys.stdin.readline().strip().lower() in ("y", "yes")


def cmd_library(opts: argparse.Namespace) -> int:
    if opts.action == "list" and opts.dir:  # `library list DIR` would look like it listed DIR
        raise UsageError(f"library list takes no folder; use {PROG} library add {opts.dir}")
    store = HistoryStore.open(opts.config)
    if opts.action == "list":
        roots = store.library.roots()
        for root in roots:
            kind = "foreign" if root.foreign else "own"
            if opts.json:
                print(json.dumps({"path": str(root.path), "foreign": root.foreign}))
            else:
                print(f"{one_line(str(root.path), None)}\t{kind}")
        return EXIT_OK
    if not opts.dir:
        raise UsageError(
            f"library {opts.action} needs a folder, e.g. {PROG} library add ~/ComfyUI/output"
        )
    folder = Path(opts.dir).expanduser()
    if opts.action == "add":
        root, result = _add_and_index(store, folder)
        print(f"added {root.path}; the library now holds {result.indexed} images", file=sys.stderr)
    elif not store.library.remove(folder):
        raise UsageError(f"{opts.dir} is not in the library (see {PROG} library list)")
    else:
        result = reindex_with_progress(store)
        print(f"removed {folder}; the library now holds {result.indexed} images", file=sys.stderr)
    store.close()
    return EXIT_OK


def cmd_rerun(opts: argparse.Namespace) -> int:
    from imagen_tui.backends import Engine

    from .headless import run_request

    engine = Engine.open(opts.config)
    path = Path(opts.path).expanduser()
    if not path.is_file():
        raise UsageError(f"rerun: no such image: {opts.path}")
    request = engine.history.request_for(path.absolute())
    changes: dict[str, Any] = {"count": 1}
    if opts.backend:
        changes["backend"] = opts.backend
        changes["options"] = {}  # another backend's options do not carry over
    if opts.seed is not None:
        changes["seed"] = opts.seed
    request = _drop_unsupported(engine, request.replace(**changes), set(changes))
    return run_request(engine, request, opts)


_DROPPABLE = {"negative": "", "seed": None, "steps": None, "references": ()}


def _drop_unsupported(engine: Any, request: Any, given: set[str]) -> Any:
    """A recipe made elsewhere may hold fields the chosen backend cannot use, or a seed or
    steps outside our bounds (another tool wrote `Seed: -1`): drop those, saying so, rather
    than refusing the re-run. A bad value the user gave (`given`, by field) is still refused."""
    prepared = engine.prepare(request)
    dropped: dict[str, str] = {}
    for p in prepared.problems:
        if p.field not in _DROPPABLE or p.field in given:
            continue
        if "takes no" in p.message:
            dropped[p.field] = f"backend {prepared.backend!r} does not take it"
        elif p.field in ("seed", "steps"):
            dropped[p.field] = f"the recipe's value {p.message}"
    if not dropped:
        return request
    for field, why in dropped.items():
        fail(f"note: {field} dropped: {why}")
    return request.replace(**{field: _DROPPABLE[field] for field in dropped})


class ReindexProgress:
    """A progress line on a terminal's stderr while a rebuild reads files: `indexing 1,200 of
    10,000 images (12%)`, redrawn in place at most ten times a second and erased at the end.
    Prints nothing when `stream` is not a terminal (a pipe or a log file gets only results)."""

    REDRAW_INTERVAL_S = 0.1

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.live = _is_terminal(self.stream)
        self._drawn_at = 0.0
        self.drawn = False

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if not self.live or (done < total and now - self._drawn_at < self.REDRAW_INTERVAL_S):
            return
        self._drawn_at = now
        share = f" ({done * 100 // total}%)" if total else ""
        line = f"indexing {done:,} of {total:,} images{share}"
        if done >= total:
            line += ", writing the index…"
        width = max(10, shutil.get_terminal_size().columns - 1)
        self.stream.write("\r\x1b[K" + line[:width])
        self.stream.flush()
        self.drawn = True

    def clear(self) -> None:
        if self.drawn:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self.drawn = False


def _add_and_index(store: HistoryStore, folder: Path) -> tuple[Any, Any]:
    """Add `folder` to the library and reindex; returns (its Root, the ReindexResult). When the
    reindex fails or is interrupted, a folder this call added is forgotten again, so a failed
    `library add` leaves the library as it was (else every later rebuild would scan it)."""
    known = {root.path for root in store.library.roots()}
    root = store.library.add(folder, foreign=True)
    try:
        return root, reindex_with_progress(store)
    except BaseException:
        if root.path not in known:
            with suppress(StoreError):
                store.library.remove(root.path)
        raise


def reindex_with_progress(store: HistoryStore) -> Any:
    """`store.reindex()` with a `ReindexProgress` line on stderr; returns its ReindexResult."""
    progress = ReindexProgress()
    try:
        return store.reindex(progress=progress if progress.live else None)
    finally:
        progress.clear()


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
