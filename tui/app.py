"""The workbench app: engine wiring, themes, keymap, and the app-wide actions.

The app talks to the engine only through `imagen_tui.backends`. Blocking engine calls (store,
job log, tmux) run in thread workers with `exit_on_error=False`; a failed worker becomes one
notification (textual docs, guide/workers.md: the default would end the app).
"""

from __future__ import annotations

import asyncio
import gc
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual import events, work
from textual.app import App
from textual.binding import Binding
from textual.driver import Driver
from textual.theme import Theme
from textual.worker import Worker, WorkerState

from imagen_tui.backends import (
    ConfigError,
    GenerationRequest,
    ImagenTuiError,
)
from imagen_tui.tui import bindings, clipboard, input_driver, tmux, ui_state
from imagen_tui.tui.commands import WorkbenchCommands
from imagen_tui.tui.live_jobs import LiveJobs
from imagen_tui.tui.recipe import once_command
from imagen_tui.tui.screens.confirm import ConfirmQuit
from imagen_tui.tui.screens.help import HelpScreen
from imagen_tui.tui.screens.main import MainScreen
from imagen_tui.tui.screens.preview import PreviewScreen
from imagen_tui.tui.store_sync import StoreSync
from imagen_tui.tui.text import safe
from imagen_tui.tui.theme_loader import DEFAULT_THEME, load_themes
from imagen_tui.tui.widgets.history_pane import HistoryPane
from imagen_tui.tui.widgets.job_list import JobList
from imagen_tui.tui.widgets.prompt_editor import PromptEditor


class WorkbenchApp(LiveJobs, App[int]):
    """`imagen-tui` with no arguments.

    Give either `engine` (an opened, not yet started `Engine`) or `open_engine`, a callable that
    opens one; the latter runs in a thread after the first frame, so start-up does not wait for
    the config to load (~as long as importing Textual). A `ConfigError` from it ends the app with
    return code 2 and leaves its problems in `config_problems`.
    """

    # Absolute: Textual resolves a relative CSS_PATH from the module of the *subclass*.
    CSS_PATH = Path(__file__).parent / "styles" / "workbench.tcss"
    TITLE = "imagen-tui"
    BINDINGS = [
        *bindings.bindings(bindings.APP),
        *bindings.bindings(bindings.EDITOR),  # priority keys: they must beat the TextArea
        Binding("ctrl+c", "help_quit", show=False, system=True),
    ]
    COMMANDS = App.COMMANDS | {WorkbenchCommands}

    def __init__(
        self,
        engine: Any = None,
        *,
        open_engine: Callable[[], Any] | None = None,
        renderer: str | None = None,
        preview_mode: str | None = None,
        state_folder: Path | None = None,
        user_theme_folder: Path | None = None,
        watch: bool = True,
        poll_interval: float = 0.5,
        env: dict[str, str] | None = None,
    ) -> None:
        super().__init__()
        if engine is None and open_engine is None:
            raise ValueError("give an engine or a way to open one")
        self.engine = engine
        self._open_engine = open_engine
        self._renderer_override, self._mode_override = renderer, preview_mode
        self.renderer = renderer or "auto"
        self.preview_mode = preview_mode or "auto"
        self.config_problems: list[str] = []
        self.state_folder = state_folder or ui_state.state_dir()
        self.user_theme_folder = user_theme_folder or ui_state.config_dir() / "themes"
        self.watch_files = watch
        self.env = dict(os.environ if env is None else env)
        self.poll_interval = poll_interval
        self.sync: StoreSync | None = None
        self.prompt_history = ui_state.PromptHistory(self.state_folder / ui_state.PROMPTS_FILE)
        self.live_keymap: dict[str, str] = {}
        self.started = False
        self.startup_typed = b""
        """Keys typed while the terminal was asked what it can draw (replayed on mount)."""
        self.startup_advice: str | None = None
        """How to get sharper previews, said once (see `imagen-tui doctor`)."""
        self._unsubscribe: Any = None
        self._startup_notes: list[tuple[str, str]] = []
        # Keys typed before the first frame are queued, not lost: actions that need the panes
        # wait for them (a ctrl+g typed during start-up used to hit a screen still composing).
        self.main_ready = asyncio.Event()
        self._early_keys: list[events.Key] = []
        self._painted = self._opening = False
        self._gc_was_enabled = False
        self._unsaved_theme: str | None = None
        # Themes before the first style pass: a later switch restyles every widget (~0.3 s).
        self._install_themes()

    # -- start-up -------------------------------------------------------------------------

    def get_driver_class(self) -> type[Driver]:
        """Textual's driver, reading input with a parser whose pastes are only text."""
        return input_driver.driver_class(self)

    def get_default_screen(self) -> MainScreen:
        return MainScreen(self.renderer, self.prompt_history)

    def on_mount(self) -> None:
        for message, severity in self._startup_notes:
            self.notify(message, severity=severity, markup=False)  # type: ignore[arg-type]
        if self.startup_typed:
            from .widgets.typed_keys import replay_typed

            replay_typed(self, self.startup_typed)
        if self.startup_advice:
            self.notify(self.startup_advice, title="Sharper previews", markup=False)
        self.theme_changed_signal.subscribe(self, self._remember_theme)

    async def on_event(self, event: events.Event) -> None:
        # Keys that arrive before the panes exist (typed while Python starts) are held and
        # replayed once the prompt has focus: without this they reached no widget and were lost.
        if (
            isinstance(event, events.Key)
            and not event.is_forwarded
            and not self.main_ready.is_set()
        ):
            self._early_keys.append(event)
            return
        await super().on_event(event)

    async def on_main_screen_mounted(self, message: MainScreen.Mounted) -> None:
        self.main_ready.set()
        if self.engine is not None:
            self._configure(self.engine)
        else:
            self._open_when_painted()
        early, self._early_keys = self._early_keys, []
        for key in early:
            await super().on_event(key)

    @work(thread=True, group="engine-open", exit_on_error=False)
    def _open(self) -> None:
        assert self._open_engine is not None
        try:
            engine = self._open_engine()
        except ConfigError as exc:
            self.call_from_thread(self._config_failed, list(exc.problems))
            return
        self.call_from_thread(self._configure, engine)

    def _config_failed(self, problems: list[str]) -> None:
        self.config_problems = problems
        self.exit(2)

    def _configure(self, engine: Any) -> None:
        """Everything the config decides, once the engine is open; then start it."""
        self.engine = engine
        preview = getattr(engine.config, "preview", None)
        self.renderer = self._renderer_override or getattr(preview, "renderer", "auto")
        self.preview_mode = self._mode_override or getattr(preview, "mode", "auto")
        self.sync = StoreSync(engine, self.poll_interval)
        self._install_keymap()
        configured = getattr(engine.config, "theme", None)
        if configured and not ui_state.load_theme_choice(self.state_folder):
            if configured in self.available_themes:
                self._unsaved_theme = configured  # the config's choice, not the user's pick
                self.theme = configured
            else:
                message = f"Unknown theme {safe(configured)}; using {self.theme}"
                self.notify(message, severity="warning", markup=False)
        self.main.configure(engine, self.renderer, self.prepare_form)
        self._start_engine()

    def on_load(self) -> None:
        # Composing, styling and drawing the first frame allocate ~60,000 long-lived objects:
        # the collector ran ~90 times over them (one full pass), ~90 ms of a ~500 ms first frame
        # here. It is off until `Ready` (or unmount); nothing made meanwhile is garbage to speak of.
        self._gc_was_enabled = gc.isenabled()
        gc.disable()

    def on_ready(self) -> None:
        # Long-lived objects from start-up never need collecting; freezing them shortens the
        # gen-2 pauses that otherwise hit held keys (reference §2: 23-43 ms → 5-9 ms).
        gc.freeze()
        self._restore_gc()
        self._painted = True
        self._open_when_painted()

    def _restore_gc(self) -> None:
        if self._gc_was_enabled:
            gc.enable()
            self._gc_was_enabled = False

    def _open_when_painted(self) -> None:
        """Open the engine once the panes exist and the first frame is out (a thread opening it
        earlier would compete with the first paint for the GIL)."""
        if self.engine is None and self._painted and self.main_ready.is_set() and not self._opening:
            self._opening = True
            self._open()

    def _install_themes(self) -> None:
        loaded = load_themes(self.user_theme_folder)
        for theme in loaded.themes:
            self.register_theme(theme)
        if loaded.problems:
            lines = "\n".join(loaded.problems)
            self._startup_notes.append((f"Theme files skipped:\n{safe(lines)}", "warning"))
        self.theme = self._initial_theme(loaded.names())

    def _initial_theme(self, names: list[str]) -> str:
        config = getattr(self.engine, "config", None)
        wanted = [ui_state.load_theme_choice(self.state_folder), getattr(config, "theme", None)]
        for name in wanted:
            if name and name in self.available_themes:
                return name
            if name:
                message = f"Unknown theme {safe(name)}; using {DEFAULT_THEME}"
                self._startup_notes.append((message, "warning"))
        return DEFAULT_THEME if DEFAULT_THEME in names else "textual-dark"

    def refresh_css(self, animate: bool = True) -> None:
        """Textual's, except before any screen exists: the theme set in `__init__` then only
        needs its variables in the stylesheet, which is parsed once, later, with them. (Its
        watcher's full re-parse made the first frame parse all CSS twice: ~25 ms here.)"""
        if not self.screen_stack:
            self.stylesheet.set_variables(self.get_css_variables())
            return
        super().refresh_css(animate)

    def _remember_theme(self, theme: Theme) -> None:
        if theme.name == self._unsaved_theme:
            self._unsaved_theme = None
            return
        try:
            ui_state.save_theme_choice(theme.name, self.state_folder)
        except OSError as exc:
            self.notify(f"Cannot remember the theme: {exc}", severity="warning", markup=False)

    def _install_keymap(self) -> None:
        overrides = dict(getattr(self.engine.config, "keys", {}) or {})
        keymap, problems = bindings.validate_overrides(overrides)
        self.live_keymap = keymap
        self.set_keymap(keymap)
        self.main.show_keys(keymap)
        if problems:
            text = "\n".join(safe(p) for p in problems)
            self.notify(text, title="Config [keys]", severity="warning", markup=False, timeout=15)

    @work(group="engine-start", exit_on_error=False)
    async def _start_engine(self) -> None:
        assert self.sync is not None
        await self.engine.start()
        self.started = True
        self._unsubscribe = self.engine.subscribe(self._on_engine_event)
        # Taken before the list loads its first page: the poller then reports only later
        # changes, instead of reading the whole library once more (1.3 s at 100,000 images).
        self.sync.history_cursor = await asyncio.to_thread(self._history_cursor)
        self.main.query_one(HistoryPane).reload()
        self.main.query_one(JobList).upsert(list(self.engine.jobs()))
        self._poll()
        if self.watch_files:
            self.run_worker(self.sync.watch(self._roots()), group="watch", exit_on_error=False)
        if tmux.in_tmux(self.env):
            self._tmux_checks()

    def _history_cursor(self) -> Any:
        try:
            return self.engine.history.change_cursor()
        except Exception:  # a broken index: the poller starts from 0 and reports it
            return 0

    def _roots(self) -> list[Path]:
        try:
            return [Path(p) for p in self.engine.history.roots()]
        except Exception:  # no roots = no watching; polling still runs
            return []

    @property
    def main(self) -> MainScreen:
        screen = self.screen_stack[0]
        assert isinstance(screen, MainScreen)
        return screen

    # -- actions --------------------------------------------------------------------------

    def prepare_form(self, kwargs: dict[str, Any]) -> Any:
        """The engine's `prepare` for the editor's request keyword arguments."""
        return self.engine.prepare(GenerationRequest(**kwargs))

    async def _settled_editor(self) -> PromptEditor:
        """The editor once mounted, with every key typed before this one applied.

        ctrl+g is an app (priority) binding: it runs while the keys typed just before it may
        still wait in the focused TextArea's queue, so a fast "text, ctrl+g" sent a cut prompt.
        A callback queued behind them runs after they are applied.
        """
        await self.main_ready.wait()
        editor = self.main.query_one(PromptEditor)
        await editor.ready.wait()
        applied = asyncio.Event()
        (self.focused or editor).call_later(applied.set)
        await applied.wait()
        return editor

    async def action_generate(self) -> None:
        """Send the editor's request; problems stay next to their fields."""
        editor = await self._settled_editor()
        editor.attempted = True
        kwargs, problems = editor.read()
        if not problems:
            prepared = self.prepare_form(kwargs)
            problems = list(prepared.problems)
        if problems:
            editor.show_problems(problems)
            count = len(problems)
            self.notify(f"Not sent: {count} problem{'s' * (count != 1)} in the editor.",
                        severity="warning")  # fmt: skip
            return
        self.submit(GenerationRequest(**kwargs), editor_prompt=kwargs["prompt"])

    def submit(self, request: Any, *, editor_prompt: str | None = None) -> list[Any]:
        """Queue `request`; report refusals as one notification."""
        try:
            jobs = list(self.engine.submit(request))
        except (ImagenTuiError, ValueError) as exc:
            self.notify(safe(exc), title="Not sent", severity="error", markup=False)
            return []
        self.main.query_one(JobList).upsert(jobs)
        if editor_prompt is not None:
            self.main.query_one(PromptEditor).after_submit(editor_prompt, jobs)
        count = len(jobs)
        self.notify(f"Queued {count} job{'s' * (count != 1)}.", timeout=2)
        return jobs

    def use_request(self, what: str, request: Any, path: Path) -> None:
        """History `r`, `s`, `e`, `E` with the recipe of `path`."""
        if what == "rerun":
            self.submit(request)
        elif what == "vary":
            self.submit(request.replace(seed=None))
        else:
            editor = self.main.query_one(PromptEditor)
            if what == "reference" and not request.prompt.strip():
                # Another tool's image without a prompt: a reference for the prompt being written.
                editor.add_reference(path)
                self.notify(f"Added {safe(path.name)} as a reference.", timeout=3, markup=False)
            else:
                editor.load(request, reference=path if what == "reference" else None)
                if not request.prompt.strip():
                    self.notify(f"{safe(path.name)} has no prompt: its settings are loaded.",
                                timeout=4, markup=False)  # fmt: skip
            self.main.focus_pane("editor")

    def action_help_quit(self) -> None:
        """ctrl+c: say which key quits (Textual's own looks for an action named `quit`)."""
        key = bindings.key_label(self.live_keymap, "quit")
        self.notify(f"Press {key} to quit.", title="Do you want to quit?", markup=False)

    def action_help(self) -> None:
        """Open the help screen; the help key closes it again (whatever key it is mapped to)."""
        if isinstance(self.screen, HelpScreen):
            self.pop_screen()
        else:
            self.push_screen(HelpScreen(self.live_keymap))

    async def action_focus_pane(self, name: str) -> None:
        await self.main_ready.wait()
        if not isinstance(self.screen, MainScreen):
            self.pop_screen()
        self.main.focus_pane(name)

    async def action_copy_command(self) -> None:
        editor = await self._settled_editor()
        kwargs, problems = editor.read()
        blocking = [p for p in problems if p.field != "backend"]
        if blocking:
            editor.show_problems(problems)
            self.notify("Fix the editor's problems first.", severity="warning")
            return
        default = getattr(self.engine.config, "default_backend", None)
        self.copy_text(once_command(GenerationRequest(**kwargs), default_backend=default),
                       "command")  # fmt: skip

    def copy_text(self, text: str, what: str) -> None:
        """OSC 52 to the terminal, and tmux's buffer inside tmux."""
        self.copy_to_clipboard(text)
        if tmux.in_tmux(self.env):
            self._tmux_buffer(text)
        self.notify(f"Copied the {what} to the clipboard.", timeout=2)

    @work(thread=True, group="clipboard", exit_on_error=False)
    def _tmux_buffer(self, text: str) -> None:
        clipboard.tmux_set_buffer(text, self.env)

    def show_full_preview(self, path: Path) -> None:
        self.push_screen(PreviewScreen(Path(path), self.renderer))

    def running_here(self) -> int:
        """This process's unfinished jobs."""
        if self.engine is None:
            return 0
        return sum(1 for job in self.engine.jobs() if not job.state.finished)

    def action_request_quit(self) -> None:
        running = self.running_here()
        if running == 0:
            self.exit(0)
            return

        def answered(quit_now: bool | None) -> None:
            if quit_now:
                self.exit(0)

        self.clear_notifications()  # toasts sit above screens and hid the question
        self.push_screen(ConfirmQuit(running), answered)

    # -- failures and shutdown ------------------------------------------------------------

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            error = event.worker.error
            text = safe(error) if isinstance(error, ImagenTuiError) else f"{error!r}"
            self.notify(safe(text), title="Something failed", severity="error", markup=False)

    async def on_unmount(self) -> None:
        self._restore_gc()  # an app that ends before its first frame
        if self.sync is not None:
            self.sync.close()
        if self._unsubscribe is not None:
            self._unsubscribe()
        if self.engine is not None:
            await self.engine.aclose()
