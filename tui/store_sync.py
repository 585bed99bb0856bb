"""Keep the workbench current with other processes: the job log and the image library.

Two loops, both started by the app as workers:
* `poll` (a thread: the engine's "changed since" calls block on SQLite) asks the job log and the
  history index what changed since its last cursor, every `interval` seconds or at once when woken.
* `watch` (async) runs watchfiles' `awatch` on the library roots and wakes the poller on any image
  file change, so an image written by another process shows within ~0.1-0.3 s
  (https://watchfiles.helpmanual.io/api/watch/, read 2026-11-29: first events after 0.06-0.23 s).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".json")
POLL_INTERVAL = 0.5  # seconds; the issue asks for other processes' updates within 1 s


@dataclass(frozen=True)
class Forgotten:
    """An image the poller dropped from the index because its file was deleted: reported
    with the changed rows (whose only field the workbench reads is `path`)."""

    path: str


class StoreSync:
    """Cursors and the wake/stop events shared by the two loops."""

    def __init__(self, engine: Any, interval: float = POLL_INTERVAL) -> None:
        self.engine = engine
        self.interval = interval
        self.wake = threading.Event()
        self.stop = threading.Event()
        self.job_cursor = 0.0
        self.history_cursor: Any = 0
        self.errors = 0
        self._seen_files: set[str] = set()
        self._seen_lock = threading.Lock()

    def poll_once(self) -> tuple[list[Any], list[Any]]:
        """(changed jobs, changed image rows) since the last call. Blocking.

        The store answers in batches (500 rows, 1000 jobs); a run of batches is read to its end,
        or until `interval` seconds have passed, and reported as one change. The first poll sees
        the whole library as changed: one batch per poll made a 10,000-image start-up reload the
        list 20 times over 10 s and forget the preview cache each time.
        """
        with self._seen_lock:
            files, self._seen_files = self._seen_files, set()
        if files:  # dropped in by other tools or by hand: index what the index does not know
            self.engine.history.index_new([Path(f) for f in sorted(files)])
        deadline = time.monotonic() + self.interval
        jobs, self.job_cursor = drain(self.engine.jobs_changed_since, self.job_cursor, deadline)
        rows, self.history_cursor = drain(
            self.engine.history.changed_since, self.history_cursor, deadline
        )
        return jobs, rows + self._forget_deleted(files)

    def _forget_deleted(self, files: set[str]) -> list[Forgotten]:
        """Forget the images among `files` deleted outside imagen-tui (a file manager, `rm` in
        another pane), so the list drops them at once; a read-only index keeps them for now."""
        from imagen_tui.backends import ImagenTuiError

        forgotten = []
        for name in sorted(files):
            if name.lower().endswith(".json") or os.path.exists(name):
                continue
            try:
                if self.engine.history.forget_if_gone(Path(name)):
                    forgotten.append(Forgotten(name))
            except ImagenTuiError:
                continue
        return forgotten

    def poll(
        self,
        on_jobs: Callable[[list[Any]], None],
        on_rows: Callable[[list[Any]], None],
        on_error: Callable[[str], None],
        cancelled: Callable[[], bool],
    ) -> None:
        """Loop until `stop` or `cancelled()`; report the first error of a run of failures once."""
        while not self.stop.is_set() and not cancelled():
            try:
                jobs, rows = self.poll_once()
            except Exception as exc:  # a locked or broken store must not end the loop
                self.errors += 1
                if self.errors == 1:
                    on_error(f"cannot read the job log or index: {exc}")
            else:
                self.errors = 0
                if jobs:
                    on_jobs(jobs)
                if rows:
                    on_rows(rows)
            self.wake.wait(self.interval)
            self.wake.clear()

    async def watch(self, roots: list[Path]) -> None:
        """Wake the poller whenever an image or sidecar under `roots` is added or changed."""
        from watchfiles import awatch  # deferred: costs ~10 ms, not needed for the first frame

        existing = [str(r) for r in roots if Path(r).is_dir()]
        if not existing:
            return
        stop = _AsyncStop(self.stop)
        async for changes in awatch(
            *existing, debounce=200, step=30, stop_event=stop, watch_filter=_is_image
        ):
            if changes:
                with self._seen_lock:
                    self._seen_files.update(path for _change, path in changes)
                self.wake.set()

    def close(self) -> None:
        self.stop.set()
        self.wake.set()


def drain(
    changed_since: Callable[[Any], tuple[Any, Any]], cursor: Any, deadline: float
) -> tuple[list[Any], Any]:
    """Every change after `cursor` that `changed_since(cursor) -> (changes, next_cursor)` gives
    batch by batch, until a batch is empty or `time.monotonic()` passes `deadline`; returns the
    changes and the cursor to pass next time."""
    changes: list[Any] = []
    while True:
        batch, cursor = changed_since(cursor)
        changes.extend(batch)
        if not batch or time.monotonic() >= deadline:
            return changes, cursor


def _is_image(change: Any, path: str) -> bool:
    return path.lower().endswith(IMAGE_SUFFIXES) and "/." not in path


class _AsyncStop:
    """watchfiles polls `stop_event.is_set()`; a threading.Event serves both loops."""

    def __init__(self, event: threading.Event) -> None:
        self._event = event

    def is_set(self) -> bool:
        return self._event.is_set()

    def set(self) -> None:
        self._event.set()
