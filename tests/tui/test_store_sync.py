"""The poller asks the job log and the index what changed, and survives a failing store."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from imagen_tui.tui.store_sync import StoreSync


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
