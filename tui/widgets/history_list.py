"""A virtual list over the image history: draws only the visible lines, pages rows in on demand.

Never one widget per image: `render_line` reads rows from a `RowPages` cache filled by a thread
worker from the store's keyset pages. Measured design (shared/reference/textual-and-tmux.md §2,
2026-11-29): a `ScrollView` with `render_line` first paints at ~1.2× a bare app at 10k-100k rows,
and a cursor move costs ~1 ms; updating the preview from the same call stack keeps it in the
same frame, so `on_cursor` is called directly and `Highlighted` is posted for anyone else.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.segment import Segment
from rich.style import Style
from textual import work
from textual.geometry import Size
from textual.message import Message
from textual.strip import Strip
from textual.worker import get_current_worker

from imagen_tui.tui import bindings
from imagen_tui.tui.row_pages import PageFetch, RowPages
from imagen_tui.tui.text import safe
from imagen_tui.tui.widgets.cursor_list import CursorList
from imagen_tui.tui.widgets.worker_errors import ReportsWorkerErrors

PREFETCH_MARGIN = 20  # rows from a page edge at which the next page is fetched ahead


def row_label(row: Any) -> str:
    """One list line for an ImageRow: favourite/trash mark, date and time, prompt excerpt."""
    mark = "✗" if getattr(row, "trashed", False) else ("★" if row.favourite else " ")
    return f"{mark} {format_time(row.created_at)}  {safe(row.prompt or Path(row.path).name)}"


def format_time(value: Any) -> str:
    """`YYYY-MM-DD HH:MM` from epoch seconds, a datetime or an ISO string; '' when unknown."""
    if isinstance(value, int | float):
        return time.strftime("%Y-%m-%d %H:%M", time.localtime(value))
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, str):
        return value.replace("T", " ")[:16]
    return " " * 16


KEEP_SEARCH_PAGES = 8
"""Pages a new query is searched for the image selected before it (closing a search)."""


class HistoryList(ReportsWorkerErrors, CursorList, can_focus=True):
    """Rows of the history; `count` lines tall; the cursor is a row index."""

    COMPONENT_CLASSES = {"history-list--row", "history-list--cursor", "history-list--pending"}
    DEFAULT_CSS = """
    HistoryList { overflow-x: hidden; }
    HistoryList > .history-list--cursor { background: $block-cursor-blurred-background; }
    HistoryList:focus > .history-list--cursor {
        color: $block-cursor-foreground; background: $block-cursor-background; text-style: bold;
    }
    HistoryList > .history-list--pending { color: $text-muted; }
    """
    BINDINGS = bindings.list_bindings()

    class Highlighted(Message):
        """The cursor moved to `row` (None when the list is empty or the row is not loaded)."""

        def __init__(self, row: Any) -> None:
            super().__init__()
            self.row = row

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:  # noqa: A002 (Textual's signature)
        super().__init__(id=id, classes=classes)
        self.pages: RowPages[Any] = RowPages()
        self.count = 0
        self.cursor = 0
        self.fetch: PageFetch | None = None
        self.counter: Callable[[], int] | None = None
        self.on_cursor: Callable[[Any], None] | None = None
        self._pending: set[int] = set()
        self._generation = 0
        self._loaded_once = False

    # -- data -----------------------------------------------------------------------------

    def set_source(
        self, fetch: PageFetch, counter: Callable[[], int], *, keep_selected: bool = False
    ) -> None:
        """Show a new query from the top; with `keep_selected`, on the selected image instead
        when it is among the first KEEP_SEARCH_PAGES pages of the new query."""
        current = self.current_row() if keep_selected else None
        screen_line = self.cursor - self.scroll_offset.y
        self.fetch, self.counter = fetch, counter
        self._generation += 1
        self.pages = RowPages()
        self._pending.clear()
        self.cursor = 0
        self.scroll_to(y=0, animate=False)
        keep = (getattr(current, "id", None), screen_line) if current is not None else None
        self._reload(self._generation, keep=keep, search_pages=KEEP_SEARCH_PAGES)

    def refresh_rows(self) -> None:
        """Reload after the store changed, keeping the selected row and its screen line."""
        if self.fetch is None:
            return
        current = self.current_row()
        keep = (getattr(current, "id", None), self.cursor - self.scroll_offset.y)
        self._generation += 1
        self._reload(self._generation, keep=keep)

    @property
    def loaded(self) -> bool:
        """True once the first count and page have arrived."""
        return self._loaded_once

    def current_row(self) -> Any:
        return self.pages.row(self.cursor) if self.count else None

    @work(thread=True, group="history-reload", exclusive=True, exit_on_error=False)
    def _reload(self, generation: int, keep: tuple[Any, int] | None, search_pages: int = 0) -> None:
        fetch, counter, worker = self.fetch, self.counter, get_current_worker()
        if fetch is None or counter is None:
            return
        count = counter()
        pages: RowPages[Any] = RowPages()
        target = 0
        if keep is not None and keep[0] is not None:
            # Walk forward until the kept row appears (new rows arrive at the top).
            last_page = (self.cursor + max(0, count - self.count)) // pages.page_size + 1
            last_page = max(last_page, search_pages)
            for number in range(last_page + 1):
                pages.fetch_through(number, fetch, lambda: worker.is_cancelled)
                found = pages.find(lambda r: r.id == keep[0])
                if found is not None:
                    target = found
                    break
            else:
                target = 0 if search_pages else min(self.cursor, max(0, count - 1))
        pages.fetch_through(pages.page_of(target), fetch, lambda: worker.is_cancelled)
        if not worker.is_cancelled:
            self.app.call_from_thread(self._apply, generation, count, pages, target, keep)

    def _apply(
        self, generation: int, count: int, pages: RowPages[Any], target: int, keep: Any
    ) -> None:
        if generation != self._generation:
            return
        total = pages.total()
        count = count if total is None else min(count, total)
        self.pages, self.count, self._loaded_once = pages, count, True
        self._pending.clear()
        self.virtual_size = Size(0, count)
        self.cursor = max(0, min(target, count - 1))
        screen_line = keep[1] if keep is not None else 0
        self.scroll_to(y=max(0, self.cursor - screen_line), animate=False, force=True)
        self.refresh()
        self._cursor_moved()

    def _need(self, number: int) -> None:
        if number in self._pending or self.pages.has_page(number) or self.fetch is None:
            return
        self._pending.add(number)
        self._load_page(self._generation, number)

    @work(thread=True, group="history-pages", exit_on_error=False)
    def _load_page(self, generation: int, number: int) -> None:
        fetch, pages, worker = self.fetch, self.pages, get_current_worker()
        if fetch is not None:
            pages.fetch_through(number, fetch, lambda: worker.is_cancelled)
        self.app.call_from_thread(self._page_arrived, generation, number)

    def _page_arrived(self, generation: int, number: int) -> None:
        self._pending.discard(number)
        if generation != self._generation:
            return
        total = self.pages.total()
        if total is not None and total < self.count:  # the end had images deleted outside
            self.count = total
            self.virtual_size = Size(0, total)
            self.cursor = max(0, min(self.cursor, total - 1))
        self.refresh()
        if self.pages.page_of(self.cursor) == number or self.cursor == self.count - 1:
            self._cursor_moved()

    # -- drawing --------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        index = self.scroll_offset.y + y
        width = self.scrollable_content_region.width
        if index >= self.count:
            return Strip.blank(width, self.visual_style.rich_style)  # cached; rich_style is not
        row = self.pages.row(index)
        if row is None:
            self._need(self.pages.page_of(index))
            style = self.get_component_rich_style("history-list--pending")
            return Strip([Segment("  …", style)]).adjust_cell_length(width, style)
        name = "history-list--cursor" if index == self.cursor else "history-list--row"
        style: Style = self.get_component_rich_style(name)
        return Strip([Segment(row_label(row), style)]).adjust_cell_length(width, style)

    # -- moving ---------------------------------------------------------------------------

    @property
    def row_count(self) -> int:
        return self.count

    def _prefetch(self) -> None:
        offset = self.cursor % self.pages.page_size
        number = self.pages.page_of(self.cursor)
        if offset >= self.pages.page_size - PREFETCH_MARGIN:
            self._need(number + 1)
        if self.pages.row(self.cursor) is None:
            self._need(number)

    def _cursor_moved(self) -> None:
        self._prefetch()
        row = self.current_row()
        if self.on_cursor is not None:
            self.on_cursor(row)
        self.post_message(self.Highlighted(row))

    def on_resize(self) -> None:
        self.virtual_size = Size(0, self.count)
