"""Reading the metadata of many image files at once, on every core, for a rebuild of the index.

Parsing sidecars and embedded PNG chunks (ComfyUI graphs of tens of KB, zlib-compressed) is CPU
work that holds the GIL, so big rebuilds spread it over worker processes. Only the reading is
spread: rows come back to the caller, whose single connection writes them (SQLite allows one
writer at a time anyway). Small rebuilds stay in-process: starting workers costs more than it
saves below a few hundred files.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

from .index_rows import load_metadata, row_values

__all__ = [
    "FileItem", "Progress", "ReindexResult", "read_rows", "usable_cores", "PARALLEL_MIN_FILES",
]  # fmt: skip

FileItem = tuple[str, str | None, bool]
"""(image path, sidecar path or None, trashed), as `index_rows.walk_images` yields them."""
Progress = Callable[[int, int], None]
"""Called with (files read so far, files in all) as reading advances."""

PARALLEL_MIN_FILES = 500
CHUNK_FILES = 100


@dataclass(frozen=True, slots=True)
class ReindexResult:
    """Outcome of the last `reindex()`: images indexed, and sidecars skipped as unreadable.

    An image whose sidecar is skipped is still indexed (from embedded PNG metadata, or bare).
    """

    indexed: int
    skipped: int


def usable_cores() -> int:
    """CPUs this process may run on: its affinity mask where the OS has one, capped by a
    cgroup v2 CPU quota (containers), at least 1."""
    if hasattr(os, "sched_getaffinity"):
        cores = len(os.sched_getaffinity(0))
    else:
        cores = os.cpu_count() or 1
    return max(1, min(cores, _cgroup_quota() or cores))


def _cgroup_quota() -> int | None:
    """CPUs allowed by /sys/fs/cgroup/cpu.max ("max 100000" = no limit), rounded up."""
    try:
        with open("/sys/fs/cgroup/cpu.max", encoding="ascii") as fh:
            quota, period = fh.read().split()[:2]
        return -(-int(quota) // int(period))
    except (OSError, ValueError):
        return None


def read_rows(
    items: Sequence[FileItem], *, workers: int | None = None, progress: Progress | None = None
) -> tuple[list[tuple[Any, ...]], int]:
    """(`images` rows in `items` order, sidecars skipped as unreadable) for every file.

    `workers` is how many processes read (None = every usable core; 1 = this process only).
    Falls back to reading in this process when worker processes cannot be started.
    """
    workers = usable_cores() if workers is None else max(1, workers)
    chunks = [items[i : i + CHUNK_FILES] for i in range(0, len(items), CHUNK_FILES)]
    if workers > 1 and len(items) >= PARALLEL_MIN_FILES:
        try:
            return _collect(_in_workers(chunks, workers), len(items), progress)
        except (OSError, BrokenProcessPool, ImportError):
            pass  # no semaphores or no fork in this sandbox: one process is slower, not wrong
    return _collect(map(read_chunk, chunks), len(items), progress)


def read_chunk(items: Sequence[FileItem]) -> tuple[list[tuple[Any, ...]], int]:
    """Rows and skipped-sidecar count for a few files (what one worker task does)."""
    rows, skipped = [], 0
    for image, sidecar, trashed in items:
        meta, meta_json, used, bad = load_metadata(image, sidecar)
        skipped += bad
        rows.append(row_values(image, meta, meta_json, used, trashed))
    return rows, skipped


def _collect(
    results: Iterator[tuple[list[tuple[Any, ...]], int]], total: int, progress: Progress | None
) -> tuple[list[tuple[Any, ...]], int]:
    rows: list[tuple[Any, ...]] = []
    skipped = 0
    for chunk_rows, chunk_skipped in results:
        rows += chunk_rows
        skipped += chunk_skipped
        if progress is not None:
            progress(len(rows), total)
    return rows, skipped


def _in_workers(
    chunks: list[Sequence[FileItem]], workers: int
) -> Iterator[tuple[list[tuple[Any, ...]], int]]:
    """Results of `read_chunk` over `chunks`, in order, from a pool of `workers` processes."""
    pool = ProcessPoolExecutor(max_workers=min(workers, len(chunks)), mp_context=_context())
    try:
        yield from pool.map(read_chunk, chunks)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _context() -> multiprocessing.context.BaseContext:
    """How to start workers: a fork of this process while it has one thread (the CLI: fast,
    nothing re-imported); else a fork server, since forking a threaded process (the workbench,
    the engine's workers) can deadlock the child. Spawn where neither exists (Windows)."""
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and _threads() == 1:
        return multiprocessing.get_context("fork")
    if "forkserver" in methods:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload([__name__])
        return context
    return multiprocessing.get_context("spawn")


def _threads() -> int:
    """Threads of this process as the OS counts them (C threads too), else Python's count."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return threading.active_count()
