"""Worker failures become one notification, never a silent stop or a crash.

`Worker.StateChanged` does not bubble (textual 8.2.8 `worker.py`: `bubble=False`), so a widget that
runs workers must handle it itself; this mixin does so for every widget that uses it.
"""

from __future__ import annotations

from textual.worker import Worker, WorkerState

from imagen_tui.tui.text import safe


class ReportsWorkerErrors:
    """Mix into a Widget: a worker that raises is reported with its name and error."""

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            error = event.worker.error
            message = (
                f"{event.worker.name or 'a task'} failed: {safe(error) or type(error).__name__}"
            )
            self.app.notify(message, severity="error", markup=False)  # type: ignore[attr-defined]
