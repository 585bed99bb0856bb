"""The quit question is not hidden under notifications."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from imagen_tui.tui.screens.confirm import ConfirmQuit
from tests.tui.workbench_helpers import drive, make_app, settle, type_text


def test_ctrl_q_with_jobs_running_clears_the_toasts_over_its_question(tmp_path: Path) -> None:
    app, _ = make_app(tmp_path)

    async def steps(pilot: Pilot[Any]) -> None:
        await type_text(pilot, "fox")
        await pilot.press("ctrl+g")  # "Queued 1 job." is on screen; the job is not finished
        await settle(pilot)
        assert app._notifications
        await pilot.press("ctrl+q")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmQuit) and not app._notifications

    drive(app, steps)
