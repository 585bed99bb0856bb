"""Random access over forward-only keyset pages."""

from __future__ import annotations

from imagen_tui.tui.row_pages import RowPages

ROWS = list(range(1000, 0, -1))  # ids newest first


def fetch_log() -> tuple[list[object], object]:
    calls: list[object] = []

    def fetch(after: object, limit: int) -> tuple[list[int], object]:
        calls.append(after)
        rows = [r for r in ROWS if after is None or r < after][:limit]
        return rows, (rows[-1] if len(rows) == limit else None)

    return calls, fetch


def never() -> bool:
    return False


def test_walks_forward_once_then_jumps_by_known_cursor() -> None:
    calls, fetch = fetch_log()
    pages: RowPages[int] = RowPages(page_size=100, max_pages=3)
    assert pages.fetch_through(5, fetch, never) == 6
    assert pages.row(550) == ROWS[550]
    assert pages.row(0) is None  # evicted: only 3 pages kept
    calls.clear()
    assert pages.fetch_through(0, fetch, never) == 1 and calls == [None]
    calls.clear()
    assert pages.fetch_through(4, fetch, never) == 0  # still cached (pages 4, 5, 0)
    assert pages.fetch_through(3, fetch, never) == 1 and calls == [ROWS[299]]
    assert pages.row(399) == ROWS[399]


def test_end_of_data_and_cancel() -> None:
    calls, fetch = fetch_log()
    pages: RowPages[int] = RowPages(page_size=300, max_pages=10)
    pages.fetch_through(99, fetch, never)
    assert pages.ended_at == 3 and len(calls) == 4
    assert pages.row(999) == 1 and pages.row(1000) is None
    fresh: RowPages[int] = RowPages(page_size=10)
    assert fresh.fetch_through(50, fetch, lambda: True) == 0


def test_find() -> None:
    _, fetch = fetch_log()
    pages: RowPages[int] = RowPages(page_size=10)
    pages.fetch_through(2, fetch, never)
    assert pages.find(lambda r: r == ROWS[25]) == 25
    assert pages.find(lambda r: r == -1) is None
