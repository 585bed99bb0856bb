"""Inside tmux without passthrough, how to get sharper previews is said once, not twice."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from imagen_tui.tui import tmux, tmux_notify
from tests.tui.workbench_helpers import drive, make_app, settle

TMUX_ENV = {"TMUX": "/tmp/tmux-0/none,1,0", "TMUX_PANE": "%0"}


@pytest.mark.parametrize(
    "advice", [None, "For real pixels inside tmux: set -g allow-passthrough on"]
)
def test_passthrough_advice_is_given_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, advice: str | None
) -> None:
    monkeypatch.setattr(tmux_notify, "passthrough_off", lambda env: True)
    monkeypatch.setattr(tmux, "reset_pane_title", lambda env=None: None)
    app, _ = make_app(tmp_path, env=TMUX_ENV)
    app.startup_advice = advice

    async def steps(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        said = [n for n in app._notifications if "allow-passthrough" in n.message]
        assert len(said) == 1

    drive(app, steps)


def test_passthrough_hint_is_not_repeated_at_the_next_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Seen in tmux: the start-up advice was remembered, but every later start said the
    passthrough hint again."""
    monkeypatch.setattr(tmux_notify, "passthrough_off", lambda env: True)
    monkeypatch.setattr(tmux, "reset_pane_title", lambda env=None: None)
    counts = []
    for _ in range(2):
        app, _ = make_app(tmp_path, env=TMUX_ENV)  # the same state folder both times
        app.startup_advice = None  # advice_once already said it, or had nothing to say

        async def steps(pilot: Pilot[Any], app: Any = app) -> None:
            await settle(pilot)
            counts.append(sum("allow-passthrough" in n.message for n in app._notifications))

        drive(app, steps)
    assert counts == [1, 0]
