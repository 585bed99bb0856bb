"""The workbench's live side: engine events, other processes' changes, job and tmux actions.

A mixin of `WorkbenchApp` (kept apart so each module holds one concept): it expects the app's
`engine`, `sync`, `env`, `preview_mode`, `state_folder` and `main` attributes. Blocking calls
(job log, index, tmux) run in thread workers; results come back through `call_from_thread`.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from textual import work
from textual.worker import get_current_worker

from imagen_tui.backends import EventKind, ImagenTuiError, JobEvent
from imagen_tui.tui import tmux, tmux_notify, ui_state
from imagen_tui.tui.text import safe, slug
from imagen_tui.tui.widgets.history_pane import HistoryPane
from imagen_tui.tui.widgets.job_list import JobList


class LiveJobs:
    """Engine events, the job log and index poller, and the job list's x / R / o."""

    engine: Any
    sync: Any
    env: dict[str, str]
    preview_mode: str
    main: Any

    # -- keeping current ------------------------------------------------------------------

    @work(thread=True, group="poll", exit_on_error=False)
    def _poll(self) -> None:
        worker, sync = get_current_worker(), self.sync
        assert sync is not None
        sync.poll(
            lambda jobs: self.call_from_thread(self._jobs_polled, jobs),
            lambda rows: self.call_from_thread(self._rows_polled, rows),
            lambda msg: self.call_from_thread(self.notify, msg, severity="error", markup=False),
            lambda: worker.is_cancelled,
        )

    def _jobs_polled(self, jobs: list[Any]) -> None:
        self.main.query_one(JobList).upsert(jobs)

    def _rows_polled(self, rows: list[Any]) -> None:
        self.main.query_one(HistoryPane).store_changed(row.path for row in rows)

    def _on_engine_event(self, event: JobEvent) -> None:
        self.call_next(self._engine_event, event)

    def _engine_event(self, event: JobEvent) -> None:
        job = event.job
        self.main.query_one(JobList).upsert([job])
        preview = getattr(event, "preview", None)
        if event.kind == EventKind.PREVIEW and preview:
            self._show_stream(preview)
        elif event.kind == EventKind.DONE:
            if self.sync is not None:
                self.sync.wake.set()
            self._job_done(job)
        elif event.kind == EventKind.FAILED:
            text = f"{safe(job.error_code)}: {safe(job.error_message)}"
            self.notify(text, title="Job failed", severity="error", markup=False)

    def _show_stream(self, data: bytes) -> None:
        try:
            from PIL import Image  # deferred: not needed for the first frame

            with Image.open(io.BytesIO(data)) as im:
                image = im.convert("RGB")
        except Exception:  # a broken partial image is skipped; the next one may do
            return
        self.main.query_one("#job-preview").show(image)  # type: ignore[attr-defined]

    @work(thread=True, group="job-done", exit_on_error=False)
    def _job_done(self, job: Any) -> None:
        """Open the image window per preview mode; tell a user who looks elsewhere."""
        if not job.output_path or not tmux.in_tmux(self.env):
            return
        if self.preview_mode in ("auto", "on"):
            path = Path(job.output_path)
            name = slug(job.user_prompt or path.stem)
            tmux.open_image_window(path, name, env=self.env, config=self._config_file())
        if not tmux_notify.user_sees_us(self.env):
            name = Path(job.output_path).name
            tmux_notify.display_message(f"imagen-tui: done {safe(name)}", self.env)
            notify = getattr(self.engine.config, "notify", None)
            if getattr(notify, "bell", False):
                self.call_from_thread(self.bell)

    def _config_file(self) -> Path | None:
        """The config file the engine read (also one given with --config), for viewers."""
        source = getattr(getattr(self.engine, "config", None), "source", None)
        return Path(source) if source else None

    @work(thread=True, group="tmux-checks", exit_on_error=False)
    def _tmux_checks(self) -> None:
        tmux.reset_pane_title(env=self.env)
        # Said once, ever: by the start-up advice (which covers tmux) or by this hint.
        if not tmux_notify.passthrough_off(self.env):
            return
        first = ui_state.first_time("passthrough-hint", self.state_folder)
        if first and not getattr(self, "startup_advice", None):
            hint = tmux_notify.PASSTHROUGH_HINT
            self.call_from_thread(self.notify, hint, title="Previews", timeout=8, markup=False)

    def open_in_tmux(self, path: Path | str, prompt: str) -> None:
        """`o`: the image in a background `img:<slug>` window, reused for the same slug."""
        if not tmux.in_tmux(self.env):
            self.notify(
                "Not inside tmux: img: windows open from a tmux pane. "
                f"Outside tmux run: imagen-tui view {safe(path)}",
                severity="warning",
                markup=False,
            )
            return
        self._spawn(Path(path), slug(prompt))

    @work(thread=True, group="spawn", exit_on_error=False)
    def _spawn(self, path: Path, name: str) -> None:
        result = tmux.open_image_window(path, name, env=self.env, config=self._config_file())
        if result.ok:
            verb = "Reused" if result.reused else "Opened"
            message, severity = f"{verb} window {tmux.window_name(name)}", "information"
        else:
            message, severity = f"Cannot open a window: {result.error}", "error"
        self.call_from_thread(self.notify, safe(message), severity=severity, markup=False)

    def on_job_list_action_requested(self, message: JobList.ActionRequested) -> None:
        job = message.job
        if message.action == "cancel":
            self._cancel(job.id)
        elif message.action == "retry":
            self._retry(job.id)
        elif job.output_path:
            self.open_in_tmux(job.output_path, job.user_prompt or job.request.prompt)
        else:
            self.notify("This job has no image yet.", severity="warning")

    @work(group="retry", exit_on_error=False)
    async def _retry(self, job_id: str) -> None:
        try:
            job = await self.engine.retry(job_id)
        except (ImagenTuiError, ValueError, KeyError) as exc:
            self.notify(safe(exc), title="Cannot retry", severity="error", markup=False)
            return
        self.main.query_one(JobList).upsert([job])

    @work(group="cancel", exit_on_error=False)
    async def _cancel(self, job_id: str) -> None:
        if await self.engine.cancel(job_id):
            self.notify(f"Cancelling job {job_id}…", timeout=2)
        else:
            self.notify(f"Job {job_id} is not running.", severity="warning")
