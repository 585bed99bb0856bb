"""A generation request as the equivalent headless command line (for "copy as command").

The line is for a POSIX shell: every argument goes through `shlex.join`, and values that may start
with `-` use the `--flag=value` form so argparse never takes them for options
(https://docs.python.org/3/library/argparse.html#arguments-containing, read 2026-11-29).
"""

from __future__ import annotations

import shlex
from typing import Any

PROG = "imagen-tui"


def once_argv(request: Any, *, default_backend: str | None = None) -> list[str]:
    """The argv of `imagen-tui --once …` that makes what `request` makes.

    `request` is a `GenerationRequest` holding the prompt as typed (before a style); options the
    defaults already give (count 1, the default backend, an empty negative) are left out.
    """
    argv = [PROG, f"--once={request.prompt}"]
    if request.backend and request.backend != default_backend:
        argv.append(f"--backend={request.backend}")
    argv.append(f"--size={request.width}x{request.height}")
    if request.seed is not None:
        argv.append(f"--seed={request.seed}")
    if request.steps is not None:
        argv.append(f"--steps={request.steps}")
    if request.style:
        argv.append(f"--style={request.style}")
    if request.negative:
        argv.append(f"--negative={request.negative}")
    if request.count != 1:
        argv += ["-n", str(request.count)]
    for ref in request.references:
        argv.append(f"--ref={ref}")
    for key, value in sorted(request.options.items()):
        argv += ["-o", f"{key}={_option(value)}"]
    return argv


def _option(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def once_command(request: Any, *, default_backend: str | None = None) -> str:
    """`once_argv` as one shell-quoted line, safe to paste into sh/bash/zsh."""
    return shlex.join(once_argv(request, default_backend=default_backend))
