"""The workbench screen: prompt editor, job list, history browser; compact below 100 columns."""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Container, Vertical
from textual.events import Resize
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Static

from imagen_tui.tui.bindings import key_label
from imagen_tui.tui.job_rows import job_details
from imagen_tui.tui.ui_state import PromptHistory
from imagen_tui.tui.widgets.cell_preview import make_preview
from imagen_tui.tui.widgets.history_pane import HistoryPane
from imagen_tui.tui.widgets.job_list import JobList
from imagen_tui.tui.widgets.key_bar import KeyBar
from imagen_tui.tui.widgets.prompt_editor import PromptEditor

COMPACT_BELOW = 100  # columns
WIDE_FROM = 160  # columns: the job list shows the selected job's image beside it
TINY_BELOW = (60, 20)  # columns, rows: only the focused pane is shown
PANE_TITLES = {
    "editor-pane": ("Prompt", "focus_editor"),
    "jobs-pane": ("Jobs", "focus_jobs"),
    "history-pane": ("History", "focus_history"),
}


class MainScreen(Screen[None]):
    """Three panes; `f2`/`f3`/`f4` (or their remapped keys) focus them (app bindings)."""

    class Mounted(Message):
        """Every pane is mounted: the app may start the engine and fill them."""

    def __init__(self, renderer: str, prompt_history: PromptHistory) -> None:
        super().__init__()
        self.renderer = renderer
        self.prompt_history = prompt_history
        self.keymap: dict[str, str] = {}
        """The live keymap's overrides: every key this screen names comes from it."""

    def compose(self) -> ComposeResult:
        """The panes, empty: `configure` fills them once the engine is open."""
        # Size classes before any pane exists: set on mount, a screen class restyled every
        # widget once more (~50 ms of the first frame here).
        self._layout(*self.app.size, update=False)
        with Container(id="workbench"):
            with Vertical(id="left"):
                with Vertical(id="editor-pane", classes="pane") as pane:
                    pane.border_title = self._title("editor-pane")
                    yield PromptEditor(self.prompt_history, id="editor")
                with Container(id="jobs-pane", classes="pane") as pane:
                    pane.border_title = self._title("jobs-pane")
                    with Vertical(id="jobs-main"):
                        yield JobList(id="jobs-list")
                        yield Static("", id="job-detail", markup=False)
                    yield make_preview(self.renderer, id="job-preview", classes="preview")
            with Container(id="history-pane", classes="pane") as pane:
                pane.border_title = self._title("history-pane")
                yield HistoryPane(self.renderer, id="history")
        yield KeyBar(id="keys")

    def _title(self, pane: str) -> str:
        name, binding_id = PANE_TITLES[pane]
        return f"{name}  {key_label(self.keymap, binding_id)}"

    def show_keys(self, keymap: dict[str, str]) -> None:
        """Name the live keys (after the config's `[keys]` is applied) wherever this screen does."""
        self.keymap = dict(keymap)
        for pane in PANE_TITLES:
            self.query_one(f"#{pane}").border_title = self._title(pane)
        self.query_one(PromptEditor).show_keys(self.keymap)
        if not self.query_one(JobList).order:
            self.show_job(None)

    def on_mount(self) -> None:
        self._layout(self.size.width, self.size.height)
        # Nested panes compose in their own turn: wait one refresh before looking inside them.
        self.call_after_refresh(self._panes_ready)

    def _panes_ready(self) -> None:
        self.set_focus(self.query_one("#prompt"))  # before the app replays early keys into it
        self.post_message(self.Mounted())

    def on_resize(self, event: Resize) -> None:
        self._layout(event.size.width, event.size.height)

    def _layout(self, width: int, height: int, *, update: bool = True) -> None:
        """Classes for the pane arrangement at `width` x `height` cells (no-ops if unchanged)."""
        self.set_class(width < COMPACT_BELOW, "-compact", update=update)
        self.set_class(width >= WIDE_FROM, "-wide", update=update)
        tiny = width < TINY_BELOW[0] or height < TINY_BELOW[1]
        self.set_class(tiny, "-tiny", update=update)

    def configure(self, engine: Any, renderer: str, prepare: Any) -> None:
        """Give the panes what the engine knows: backends, styles, the history store."""
        config = engine.config
        for preview in self.query(".preview"):
            preview.set_renderer(renderer)  # type: ignore[attr-defined]
        self.query_one(HistoryPane).history = engine.history
        self.query_one(PromptEditor).configure(
            engine.backends(),
            sorted(getattr(config, "styles", {}) or {}),
            getattr(config, "default_backend", ""),
            prepare,
        )

    @on(JobList.Highlighted)
    def _job_highlighted(self, event: JobList.Highlighted) -> None:
        self.show_job(event.job)

    def show_job(self, job: Any) -> None:
        """Details of the selected job; its image once done."""
        detail = self.query_one("#job-detail", Static)
        preview = self.query_one("#job-preview")
        if job is None:
            key = key_label(self.keymap, "generate")
            detail.update(f"No jobs yet: type a prompt and press {key}.")
            preview.show(None)  # type: ignore[attr-defined]
            return
        detail.update(job_details(job))
        if job.output_path:
            preview.show(job.output_path)  # type: ignore[attr-defined]

    def focus_pane(self, name: str) -> None:
        """Focus the editor's prompt, the job list or the history list."""
        target = {"editor": "#prompt", "jobs": "#jobs-list", "history": "#history-list"}[name]
        if self.has_class("-tiny"):  # a screen class restyles every widget: only when needed
            self.remove_class(*(f"-focus-{o}" for o in ("editor", "jobs", "history") if o != name))
            self.add_class(f"-focus-{name}")
        self.query_one(target).focus()
