"""Put text on the user's clipboard from a terminal app, also through tmux.

Textual's `App.copy_to_clipboard` writes OSC 52 (`ESC ] 52 ; c ; <base64> BEL`,
https://invisible-island.net/xterm/ctlseqs/ctlseqs.html#h3-Operating-System-Commands, read
2026-11-29). tmux's default `set-clipboard external` ignores OSC 52 from the programs in its panes
(tmux(1), "set-clipboard"), so inside tmux we also run `tmux set-buffer -w -- TEXT`, which stores a
paste buffer and forwards it to the outer terminal's clipboard (tmux ≥ 3.2). Argv only, no shell.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Mapping
from typing import Any

TMUX_TIMEOUT = 3.0


def tmux_set_buffer(
    text: str,
    env: Mapping[str, str] | None = None,
    runner: Callable[..., Any] = subprocess.run,
) -> str | None:
    """Store `text` as tmux's newest paste buffer; None on success, else one line saying why.

    Blocking (a subprocess): call it from a thread worker.
    """
    env = os.environ if env is None else env
    if not env.get("TMUX"):
        return "not inside tmux"
    # tmux ends a command at an argument ending in ";" unless it is written "\;".
    data = text[:-1] + "\\;" if text.endswith(";") else text
    try:
        proc = runner(
            ["tmux", "set-buffer", "-w", "--", data],
            env=dict(env),
            capture_output=True,
            text=True,
            timeout=TMUX_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"tmux set-buffer could not run: {exc}"
    if proc.returncode != 0:
        return f"tmux set-buffer failed: {(proc.stderr or '').strip() or proc.returncode}"
    return None
