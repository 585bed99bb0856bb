"""A keyboard list drawn line by line: a cursor row, kept in view, moved by the list keys.

The job list and the history list are both `ScrollView`s that draw their own lines (no widget
per row); this is what they share: moving the cursor, scrolling it into view, and the
`move`/`page`/`first`/`last` actions their bindings call.
"""

from __future__ import annotations

from textual.scroll_view import ScrollView


class CursorList(ScrollView):
    """Subclasses say how many rows there are (`row_count`) and react to a move
    (`_cursor_moved`, called in the key's own call stack)."""

    cursor: int = 0

    @property
    def row_count(self) -> int:
        raise NotImplementedError

    def _cursor_moved(self) -> None:
        raise NotImplementedError

    def move_to(self, index: int) -> None:
        """Put the cursor on `index` (clamped), scroll it into view, tell the subclass."""
        if self.row_count == 0:
            return
        old, self.cursor = self.cursor, max(0, min(index, self.row_count - 1))
        self.refresh_line(old)  # virtual row indexes
        self.refresh_line(self.cursor)
        top, height = self.scroll_offset.y, self.scrollable_content_region.height
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor >= top + height:
            self.scroll_to(y=self.cursor - height + 1, animate=False, immediate=True)
        self._cursor_moved()

    def action_move(self, delta: int) -> None:
        self.move_to(self.cursor + delta)

    def action_page(self, direction: int) -> None:
        self.move_to(self.cursor + direction * max(1, self.scrollable_content_region.height))

    def action_first(self) -> None:
        self.move_to(0)

    def action_last(self) -> None:
        self.move_to(self.row_count - 1)
