"""Ask before quitting while this process still has jobs running."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static


class ConfirmQuit(ModalScreen[bool]):
    """`y` quits (cancelling the jobs), `n`/escape stays. Dismisses with True to quit."""

    BINDINGS = [
        Binding("y", "answer(True)", "Quit", id="confirm.yes"),
        Binding("n,escape", "answer(False)", "Stay", id="confirm.no"),
    ]

    def __init__(self, running: int) -> None:
        super().__init__()
        self.running = running

    def compose(self) -> ComposeResult:
        jobs = f"{self.running} job" + ("s are" if self.running != 1 else " is")
        with Vertical(id="confirm-body"):
            yield Static(f"{jobs} still running in this workbench.", markup=False)
            yield Static("Quit and cancel them? y = quit, n = stay", markup=False)

    def action_answer(self, quit_now: bool) -> None:
        self.dismiss(quit_now)
