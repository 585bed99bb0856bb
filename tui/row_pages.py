"""Random access by row index over a store that only pages forward by keyset cursor.

The history store answers `page(after=cursor, limit=n) -> (rows, next_cursor)`, newest first.
`RowPages` remembers every page's starting cursor (a few bytes per page, so 100,000 rows at 100 a
page cost 1,000 cursors) and keeps the rows of at most `max_pages` pages (LRU). Reaching page k
walks forward from the nearest known cursor; `fetch_through` does that and is meant to run in a
thread worker. Nothing here touches Textual.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Generic, TypeVar

Row = TypeVar("Row")
PageFetch = Callable[[Any, int], tuple[list[Any], Any]]
"""fetch(after_cursor, limit) -> (rows, next_cursor or None at the end)."""

PAGE_SIZE = 100
MAX_PAGES = 32


class RowPages(Generic[Row]):
    """An LRU of pages of rows plus the cursor that starts each page (`cursors[0]` is None)."""

    def __init__(self, page_size: int = PAGE_SIZE, max_pages: int = MAX_PAGES) -> None:
        self.page_size = page_size
        self.max_pages = max_pages
        self.cursors: list[Any] = [None]
        self.pages: OrderedDict[int, list[Row]] = OrderedDict()
        self.ended_at: int | None = None  # number of the last page, once seen

    def page_of(self, index: int) -> int:
        return index // self.page_size

    def row(self, index: int) -> Row | None:
        """The row at `index` if its page is in memory, else None (the caller fetches)."""
        page = self.pages.get(self.page_of(index))
        if page is None:
            return None
        self.pages.move_to_end(self.page_of(index))
        offset = index % self.page_size
        return page[offset] if offset < len(page) else None

    def has_page(self, number: int) -> bool:
        return number in self.pages

    def store(self, number: int, rows: list[Row], next_cursor: Any) -> None:
        """Keep page `number` and learn the cursor of page `number + 1`."""
        self.pages[number] = rows
        self.pages.move_to_end(number)
        while len(self.pages) > self.max_pages:
            self.pages.popitem(last=False)
        if next_cursor is None or len(rows) < self.page_size:
            self.ended_at = number
        elif number + 1 == len(self.cursors):
            self.cursors.append(next_cursor)
        elif number + 1 < len(self.cursors):
            self.cursors[number + 1] = next_cursor

    def fetch_through(self, number: int, fetch: PageFetch, cancelled: Callable[[], bool]) -> int:
        """Fetch pages until `number` is in memory (walking from the nearest known cursor).

        Returns how many pages were fetched. Stops early at the end of the data or when
        `cancelled()` turns true. Exceptions from `fetch` propagate.
        """
        fetched = 0
        start = min(number, len(self.cursors) - 1)
        for current in range(start, number + 1):
            if cancelled() or (self.ended_at is not None and current > self.ended_at):
                break
            if current == number and self.has_page(number):
                break
            if current < number and current + 1 < len(self.cursors):
                continue  # cursor to the next page already known
            rows, next_cursor = fetch(self.cursors[current], self.page_size)
            fetched += 1
            self.store(current, list(rows), next_cursor)
        return fetched

    def total(self) -> int | None:
        """How many rows there are, once the last page is in memory; else None. The store's
        count may be higher: a page leaves out images whose files are gone."""
        if self.ended_at is None or self.ended_at not in self.pages:
            return None
        return self.ended_at * self.page_size + len(self.pages[self.ended_at])

    def find(self, predicate: Callable[[Row], bool]) -> int | None:
        """Index of the first in-memory row matching `predicate`, or None."""
        for number in sorted(self.pages):
            for offset, row in enumerate(self.pages[number]):
                if predicate(row):
                    return number * self.page_size + offset
        return None
