"""The history browser: search box, virtual list, preview and metadata, and the history keys.

Store calls block (SQLite, files), so each runs in a thread worker; the preview of a row already
seen is drawn from an in-memory LRU in the same call stack as the cursor move (one frame).
Keys per DESIGN.md: `/` search, `F` favourites only, `t` trash view, `f` `d` `u` `r` `s` `e` `E`
`y` `enter` `o` on the selected image.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, Vertical
from textual.widgets import Input, Static
from textual.worker import get_current_worker

from imagen_tui.backends import ImagenTuiError
from imagen_tui.tui import bindings
from imagen_tui.tui.text import safe
from imagen_tui.tui.widgets.cell_preview import make_preview
from imagen_tui.tui.widgets.history_list import HistoryList
from imagen_tui.tui.widgets.metadata_panel import MetadataPanel
from imagen_tui.tui.widgets.prompt_inputs import SafeInput
from imagen_tui.tui.widgets.worker_errors import ReportsWorkerErrors

if TYPE_CHECKING:
    from PIL import Image

CACHE_SIZE = 128  # decoded thumbnails kept for instant moves (~20 KB each at 80x80)


class HistoryPane(ReportsWorkerErrors, Container):
    """Everything about browsing history. `history` is the engine's history store facade."""

    BINDINGS = [
        *bindings.bindings(bindings.HISTORY),
        Binding("escape", "close_search", show=False, id="history.close_search"),
    ]

    def __init__(
        self,
        renderer: str,
        *,
        id: str | None = None,  # noqa: A002 (Textual's signature)
    ) -> None:
        super().__init__(id=id)
        self.history: Any = None  # the engine's history store, set once the engine is open
        self.renderer = renderer
        self.query_text: str | None = None
        self.favourites = False
        self.trashed = False
        self.last_trashed: Path | None = None
        self._status_base = ""
        self._note = ""  # said in the status line while the metadata panel is hidden
        self._thumbs: OrderedDict[Path, tuple[Image.Image | None, dict | None, str | None]] = (
            OrderedDict()
        )

    def compose(self) -> ComposeResult:
        with Vertical(id="history-col"):
            yield Vertical(id="search-slot")  # the Input is made on the first `/` (start-up)
            yield HistoryList(id="history-list")
            yield Static("", id="history-status", markup=False)
        with Container(id="history-view"):
            yield make_preview(self.renderer, id="preview", classes="preview")
            yield MetadataPanel(id="metadata")

    def on_mount(self) -> None:
        self.list.on_cursor = self._cursor_moved
        self._show_row(None)

    @property
    def list(self) -> HistoryList:
        return self.query_one(HistoryList)

    # -- querying -------------------------------------------------------------------------

    def reload(self, *, keep_selected: bool = False) -> None:
        """Show the current query/filters from the top (or on the selected image, if it is
        near the top of the new view)."""
        q, fav, tr = self.query_text, self.favourites, self.trashed

        def fetch(after: Any, limit: int) -> tuple[list[Any], Any]:
            page = self.history.page(q, favourites=fav, trashed=tr, after=after, limit=limit)
            return page.rows, page.next

        def count() -> int:
            return int(self.history.count(q, favourites=fav, trashed=tr))

        self.list.set_source(fetch, count, keep_selected=keep_selected)
        self._status()

    def store_changed(self, paths: Iterable[Path | str] | None = None) -> None:
        """New or changed rows exist: reload, keeping the selection; drop stale previews.

        `paths` are the images that changed (their cached previews are dropped); None drops
        every cached preview. Unchanged images keep theirs, so moves stay instant meanwhile.
        """
        if paths is None:
            self._thumbs.clear()
        else:
            for path in paths:
                self._thumbs.pop(Path(path), None)
        self.list.refresh_rows()

    def _status(self) -> None:
        parts = ["trash" if self.trashed else "all images"]
        if self.favourites:
            parts.append("favourites")
        if self.query_text:
            parts.append(f"matching “{safe(self.query_text)}”")
        self._status_base = " · ".join(parts)
        self.query_one("#history-status", Static).update(self._status_base)

    def _count_status(self) -> None:
        """`<view> — <n>/<count>`, then the row's note when the metadata panel is hidden."""
        lst = self.list
        where = f"{lst.cursor + 1}/{lst.count}" if lst.count else "empty"
        note = f" — {self._note}" if self._note else ""
        status = self.query_one("#history-status", Static)
        status.update(f"{self._status_base} — {where}{note}", layout=False)

    def _show_note(self, text: str | None) -> None:
        """Put `text` (a sidecar problem, the empty state) in the status line when the metadata
        panel that says it is hidden (the compact layout below 100 columns)."""
        note = safe(text) if text and not self.query_one("#metadata").display else ""
        if note != self._note:
            self._note = note
            self._count_status()

    # -- preview --------------------------------------------------------------------------

    def _cursor_moved(self, row: Any) -> None:
        """The list's cursor moved (called in the key's own call stack, not from a message):
        the position, preview and metadata change in the same frame as the list."""
        self._count_status()
        self._show_row(row)

    def _show_row(self, row: Any) -> None:
        preview = self.query_one("#preview")
        meta = self.query_one("#metadata", MetadataPanel)
        if row is None:
            preview.show(None)  # type: ignore[attr-defined]
            empty = self._empty_text() if self.list.loaded else None
            meta.show(None, empty)
            self._show_note(empty)
            return
        path = Path(row.path)
        cached = self._thumbs.get(path)
        if cached is not None:
            self._thumbs.move_to_end(path)
            self._draw(path, *cached)
            return
        meta.show({"prompt": row.prompt, "path": path.name})
        self._show_note(None)
        self._load_preview(path, self._box())

    def _key(self, binding_id: str) -> str:
        """The live key of `binding_id` (the config's `[keys]` may remap it)."""
        return bindings.key_label(getattr(self.app, "live_keymap", {}), binding_id)

    def _empty_text(self) -> str:
        if self.trashed:
            return f"The trash is empty ({self._key('history.trash_view')} shows all images)."
        if self.query_text or self.favourites:
            return "No image matches."
        return f"No images yet: type a prompt and press {self._key('generate')}."

    def _box(self) -> tuple[int, int]:
        size = self.query_one("#preview").size
        return max(16, size.width * 2), max(16, size.height * 4)

    @work(thread=True, group="history-preview", exclusive=True, exit_on_error=False)
    def _load_preview(self, path: Path, box: tuple[int, int]) -> None:
        image, meta, problem = None, None, None
        try:
            from PIL import Image  # deferred: the first frame shows no picture

            with Image.open(self.history.thumbnail(path, *box)) as thumb:
                image = thumb.convert("RGB")
        except Exception as exc:  # unreadable image: say so in the preview
            problem = f"Cannot show {path.name}: {safe(exc)}"
            if self._forget_if_gone(path):
                return
        if get_current_worker().is_cancelled:
            return
        try:
            meta = dict(self.history.metadata(path))
        except Exception as exc:  # e.g. the image vanished: say so in the panel
            meta, problem = {}, problem or f"Unreadable metadata: {safe(exc)}"
        meta.setdefault("path", str(path))
        if meta.get("sidecar_problem"):  # the image is shown; its sidecar's problem beside it
            sidecar = f"sidecar unreadable: {safe(meta['sidecar_problem'])}"
            problem = f"{problem}\n{sidecar}" if problem else sidecar
        self.app.call_from_thread(self._arrived, path, image, meta, problem)

    def _forget_if_gone(self, path: Path) -> bool:
        """A file deleted outside imagen-tui leaves the history (worker thread); True if so."""
        try:
            gone = self.history.forget_if_gone(path)
        except Exception:  # a locked index: show the problem; the next look tries again
            return False
        if gone:
            note = f"{safe(path.name)} was deleted outside imagen-tui: removed from the history"
            self.app.call_from_thread(self.app.notify, note, markup=False)
            self.app.call_from_thread(self.store_changed, [path])
        return gone

    def _arrived(self, path: Path, image: Any, meta: Any, problem: str | None) -> None:
        self._thumbs[path] = (image, meta, problem)
        while len(self._thumbs) > CACHE_SIZE:
            self._thumbs.popitem(last=False)
        row = self.list.current_row()
        if row is not None and Path(row.path) == path:
            self._draw(path, image, meta, problem)

    def _draw(self, path: Path, image: Any, meta: Any, problem: str | None) -> None:
        preview = self.query_one("#preview")
        if image is None:
            preview.show_notice(problem or f"Cannot show {path.name}")  # type: ignore[attr-defined]
        else:
            preview.show(image)  # type: ignore[attr-defined]
        self.query_one("#metadata", MetadataPanel).show(meta, problem)
        self._show_note(problem)

    # -- keys -----------------------------------------------------------------------------

    async def action_search(self) -> None:
        if not self.query("#search"):
            placeholder = "search prompts (enter), escape clears"
            search = SafeInput(id="search", placeholder=placeholder)
            await self.query_one("#search-slot").mount(search)
        search = self.query_one("#search", Input)
        search.display = True
        search.focus()

    @on(Input.Submitted, "#search")
    def _search(self, event: Input.Submitted) -> None:
        query = event.value.strip() or None
        if query is not None:
            from imagen_tui.backends import HistoryStore  # deferred: the store's modules

            try:
                HistoryStore.check_query(query)
            except ImagenTuiError as exc:  # e.g. `--`: say why once, keep the list as it is
                self.app.notify(safe(exc.message), severity="warning", markup=False)
                return
        self.query_text = query
        self.reload()
        self.list.focus()

    def action_close_search(self) -> None:
        found = self.query("#search")
        search = found.first(Input) if found else None
        if search is not None and search.display:
            search.value, search.display = "", False
            if self.query_text is not None:
                self.query_text = None
                self.reload(keep_selected=True)  # the image found stays selected
            self.list.focus()

    def action_toggle_favourites(self) -> None:
        self.favourites = not self.favourites
        self.reload(keep_selected=True)  # F, F, d must trash the image chosen before

    def action_toggle_trash_view(self) -> None:
        self.trashed = not self.trashed
        self.reload(keep_selected=True)

    def _row(self) -> Any:
        row = self.list.current_row()
        if row is None:
            self.app.notify("No image selected.", severity="warning")
        return row

    def action_favourite(self) -> None:
        if (row := self._row()) is not None:
            self._mutate("favourite", Path(row.path), not row.favourite)

    def action_trash(self) -> None:
        if (row := self._row()) is not None and not self.trashed:
            self._mutate("trash", Path(row.path), None)

    def action_restore(self) -> None:
        if self.trashed and (row := self._row()) is not None:
            self._mutate("restore", Path(row.path), None)
        elif self.last_trashed is not None:
            self._mutate("restore", self.last_trashed, None)
        else:
            trash = self._key("history.trash_view")
            self.app.notify(
                f"Nothing to restore here ({trash} shows the trash).", severity="warning"
            )

    @work(thread=True, group="history-mutate", exit_on_error=False)
    def _mutate(self, what: str, path: Path, value: Any) -> None:
        try:
            if what == "favourite":
                self.history.set_favourite(path, value)
                done = ("★ " if value else "☆ ") + safe(path.name)
            elif what == "trash":
                self.last_trashed = self.history.trash(path)
                done = f"Trashed {safe(path.name)} ({self._key('history.restore')} restores)"
            else:
                restored = self.history.restore(path)
                self.last_trashed = None
                done = f"Restored {safe(Path(restored).name)}"
        except Exception as exc:  # store errors become a notification
            self.app.call_from_thread(self.app.notify, safe(exc), severity="error", markup=False)
            return
        self.app.call_from_thread(self._mutated, done, path)

    def _mutated(self, message: str, path: Path) -> None:
        self.app.notify(message, markup=False, timeout=3)
        self.store_changed([path])

    def action_rerun(self) -> None:
        self._with_request("rerun")

    def action_vary_seed(self) -> None:
        self._with_request("vary")

    def action_edit(self) -> None:
        self._with_request("edit")

    def action_edit_reference(self) -> None:
        self._with_request("reference")

    def _with_request(self, what: str) -> None:
        if (row := self._row()) is not None:
            self._load_request(what, Path(row.path))

    @work(thread=True, group="history-request", exit_on_error=False)
    def _load_request(self, what: str, path: Path) -> None:
        """`r` `s` need a prompt; `e` loads whatever settings exist; `E` always adds the image."""
        try:
            request = self.history.request_for(path, require_prompt=False)
        except Exception as exc:  # e.g. the image vanished
            message = f"Cannot re-use {safe(path.name)}: {safe(exc)}"
            self.app.call_from_thread(self.app.notify, message, severity="error", markup=False)
            return
        if not request.prompt.strip() and what in ("rerun", "vary"):
            edit = self._key("history.edit")
            message = (
                f"Nothing to re-run: {safe(path.name)} has no prompt "
                f"({edit} loads its settings into the editor)."
            )
            self.app.call_from_thread(self.app.notify, message, severity="warning", markup=False)
            return
        self.app.call_from_thread(self.app.use_request, what, request, path)  # type: ignore[attr-defined]

    def action_copy_prompt(self) -> None:
        if (row := self._row()) is None:
            return
        if not (row.prompt or "").strip():
            message = f"Nothing to copy: {safe(Path(row.path).name)} has no prompt."
            self.app.notify(message, severity="warning", markup=False)
            return
        self.app.copy_text(row.prompt, "prompt")  # type: ignore[attr-defined]

    def action_preview(self) -> None:
        if (row := self._row()) is not None:
            self.app.show_full_preview(Path(row.path))  # type: ignore[attr-defined]

    def action_open(self) -> None:
        if (row := self._row()) is not None:
            self.app.open_in_tmux(Path(row.path), row.prompt or Path(row.path).stem)  # type: ignore[attr-defined]
