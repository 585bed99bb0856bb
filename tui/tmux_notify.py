"""Tell a tmux user about finished jobs when they look elsewhere; detect missing passthrough.

Stdlib only, argv only, each call bounded by a timeout and blocking (run it in a thread worker).
Formats used (tmux(1) "FORMATS", tmux 3.3a, read 2026-11-29): `#{window_active}` is 1 for the
active window of its session, `#{session_attached}` counts clients on the session.
`display-message -d MS` shows a message for MS milliseconds on the session's clients.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Mapping
from typing import Any

TIMEOUT = 3.0
Runner = Callable[..., Any]


def _tmux(args: list[str], env: Mapping[str, str], runner: Runner) -> str | None:
    """stdout of one tmux command, or None when it failed in any way."""
    try:
        proc = runner(
            ["tmux", *args],
            env=dict(env),
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout if proc.returncode == 0 else None


def user_sees_us(env: Mapping[str, str] | None = None, runner: Runner = subprocess.run) -> bool:
    """True unless tmux says our window is not the active one of an attached session.

    Outside tmux, or when tmux cannot be asked, the answer is True (nothing to tell through tmux).
    """
    env = os.environ if env is None else env
    pane = env.get("TMUX_PANE")
    if not env.get("TMUX") or not pane:
        return True
    out = _tmux(["display", "-p", "-t", pane, "#{window_active} #{session_attached}"], env, runner)
    if out is None or len(out.split()) != 2:
        return True
    active, attached = out.split()
    return active == "1" and attached != "0"


def display_message(
    text: str, env: Mapping[str, str] | None = None, runner: Runner = subprocess.run
) -> bool:
    """Show `text` in the status line of our session's clients for 4 s; False if it failed.

    `#` starts a tmux format, so each is doubled; control characters must already be removed.
    """
    env = os.environ if env is None else env
    pane = env.get("TMUX_PANE")
    if not env.get("TMUX") or not pane:
        return False
    message = text.replace("#", "##")
    message = message[:-1] + "\\;" if message.endswith(";") else message
    return _tmux(["display-message", "-d", "4000", "-t", pane, message], env, runner) is not None


def passthrough_off(env: Mapping[str, str] | None = None, runner: Runner = subprocess.run) -> bool:
    """True when inside tmux and our pane's `allow-passthrough` is off (images stay half-cell)."""
    env = os.environ if env is None else env
    pane = env.get("TMUX_PANE")
    if not env.get("TMUX") or not pane:
        return False
    out = _tmux(["show-options", "-p", "-v", "-A", "-t", pane, "allow-passthrough"], env, runner)
    return out is not None and out.strip() == "off"


PASSTHROUGH_HINT = (
    "tmux passes no image protocols to this terminal, so previews use half-cell blocks. "
    "For sharper previews: tmux set -g allow-passthrough on"
)
