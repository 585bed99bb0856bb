"""The poller asks the job log and the index what changed, and survives a failing store."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from imagen_tui.tui.store_sync import StoreSync, drain


class Store:
    def __init__(self) -> None:
        self.job_calls: list[float] = []
        self.fail = 0
        self.history = SimpleNamespace(changed_since=self.rows)

    def jobs_changed_since(self, cursor: float) -> tuple[list[Any], float]:
        self.job_calls.append(cursor)
        if self.fail:
            self.fail -= 1
            raise OSError("database is locked")
        return (["job"] if cursor == 0 else []), cursor + 1

    def rows(self, cursor: int) -> tuple[list[Any], int]:
        return (["row"] if cursor == 0 else []), cursor + 10


def test_poll_reports_changes_once_and_errors_once() -> None:
    store = Store()
    store.fail = 3
    sync = StoreSync(store, interval=0.001)
    seen: dict[str, list[Any]] = {"jobs": [], "rows": [], "errors": []}
    rounds = iter(range(8))

    def cancelled() -> bool:
        return next(rounds, None) is None

    sync.poll(seen["jobs"].extend, seen["rows"].extend, seen["errors"].append, cancelled)
    assert seen["jobs"] == ["job"] and seen["rows"] == ["row"]
    assert seen["errors"] == ["cannot read the job log or index: database is locked"]
    assert store.job_calls[:4] == [0, 0, 0, 0] and store.job_calls[4] == 1


def test_close_stops_the_loop() -> None:
    sync = StoreSync(Store(), interval=10)
    sync.close()
    sync.poll(lambda j: None, lambda r: None, lambda e: None, lambda: False)  # returns at once
    assert sync.stop.is_set()


class Batches:
    """A store that answers `changed_since` in batches of 3, like the index's 500-row pages."""

    def __init__(self, rows: int) -> None:
        self.calls: list[int] = []
        self.rows = list(range(1, rows + 1))
        self.history = SimpleNamespace(changed_since=self.changed_since)

    def changed_since(self, cursor: int) -> tuple[list[int], int]:
        self.calls.append(cursor)
        batch = [r for r in self.rows if r > cursor][:3]
        return batch, batch[-1] if batch else cursor

    def jobs_changed_since(self, cursor: float) -> tuple[list[Any], float]:
        return [], cursor


def test_a_run_of_batches_is_reported_as_one_change() -> None:
    """Start-up sees the whole library as changed: one report, not one per batch per poll."""
    store = Batches(10)
    sync = StoreSync(store, interval=60)
    reports: list[list[Any]] = []

    def once() -> bool:  # one round: `close` ends the loop after it
        sync.close()
        return False

    sync.poll(lambda jobs: None, reports.append, lambda e: None, once)
    assert reports == [list(range(1, 11))]
    assert store.calls == [0, 3, 6, 9, 10] and sync.history_cursor == 10


def test_drain_stops_at_the_deadline_and_resumes_from_its_cursor() -> None:
    store = Batches(10)
    changes, cursor = drain(store.changed_since, 0, deadline=0.0)  # already past: one batch
    assert changes == [1, 2, 3] and cursor == 3
    rest, cursor = drain(store.changed_since, cursor, deadline=float("inf"))
    assert rest == list(range(4, 11)) and cursor == 10


def test_a_watched_image_deleted_elsewhere_is_forgotten_and_reported(tmp_path: Path) -> None:
    kept, deleted = tmp_path / "kept.png", tmp_path / "deleted.png"
    kept.write_bytes(b"png")
    forgotten: list[Path] = []
    history = SimpleNamespace(
        index_new=lambda paths: 0,
        changed_since=lambda cursor: ([], cursor),
        forget_if_gone=lambda path: forgotten.append(path) or True,
    )
    engine = SimpleNamespace(history=history, jobs_changed_since=lambda cursor: ([], cursor))
    sync = StoreSync(engine)
    sync._seen_files = {str(kept), str(deleted), str(tmp_path / "deleted.json")}
    jobs, rows = sync.poll_once()
    assert forgotten == [deleted]  # not the file still there, not the sidecar
    assert jobs == [] and [row.path for row in rows] == [str(deleted)]
