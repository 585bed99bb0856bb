"""Start-up graphics detection in one call, made before `App.run()` (no Textual import).

startup = detect_graphics(flag_renderer, config_renderer, state_dir)
ImagePreview.configure(startup.decision, startup.cell_px)   # then App.run()
# in the app's on_mount: replay_typed(app, startup.typed); notify(startup.advice) if set
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from imagen_tui.tui.graphics.detect import Decision, TerminalFacts, decide, resolve_setting
from imagen_tui.tui.graphics.doctor import advice_once
from imagen_tui.tui.graphics.probe import gather_facts


@dataclass(frozen=True)
class Startup:
    """Detection result: `requested` setting, `decision`, bytes `typed` meanwhile, advice."""

    requested: str
    facts: TerminalFacts
    decision: Decision
    typed: bytes
    advice: str | None  # the one-time notification text, None once shown

    @property
    def cell_px(self) -> tuple[int, int] | None:
        """(w, h) of a cell in pixels, when the terminal told us."""
        return self.facts.cell_px


def detect_graphics(
    flag: str | None,
    config: str | None,
    state_dir: Path | None,
    env: Mapping[str, str] | None = None,
    timeout: float = 0.3,
) -> Startup:
    """Resolve the renderer setting (flag > IMAGEN_RENDERER > config > auto) and detect.

    Raises ValueError for an unknown renderer name (a usage error for the CLI). With
    renderer `off` nothing is sent to the terminal.
    """
    env = dict(os.environ if env is None else env)
    requested = resolve_setting(flag, env, config)
    if requested == "off":
        facts, typed = TerminalFacts(env={}), b""
    else:
        facts, typed = gather_facts(env, timeout=timeout)
    decision = decide(facts, requested)
    advice = advice_once(decision, state_dir) if state_dir is not None else None
    return Startup(requested, facts, decision, typed, advice)
