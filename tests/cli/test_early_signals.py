"""SIGTERM before the job runs (config loading, checks) interrupts like Ctrl-C: exit 130."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.cli.helpers import TIMEOUT_S, one_line

# The real entry point, with the start of the run replaced by a SIGTERM to itself: the
# moment a `kill` lands while the config loads.
EARLY_TERM = """
import os, signal, sys
from imagen_tui.tui import cli, headless, subcommands

def terminated(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGTERM)
    raise SystemExit("SIGTERM was ignored")

headless.run_once = terminated
subcommands.run = terminated
sys.argv = ["imagen-tui", *sys.argv[1:]]
cli.entry()
"""


@pytest.mark.parametrize("args", [["--once", "a fox"], ["rerun", "some.png"]])
def test_sigterm_before_the_job_exits_130_with_one_line(args: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-c", EARLY_TERM, *args],
        capture_output=True, text=True, env=dict(os.environ), timeout=TIMEOUT_S,
    )  # fmt: skip
    assert done.returncode == 130
    assert one_line(done.stderr) == "imagen-tui: interrupted"


def test_sigterm_while_the_warning_printer_is_set_up_exits_130_with_one_line() -> None:
    script = EARLY_TERM.replace(
        "headless.run_once = terminated", "cli._one_line_handler = terminated"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, "--once", "a fox"],
        capture_output=True, text=True, env=dict(os.environ), timeout=TIMEOUT_S,
    )  # fmt: skip
    assert done.returncode == 130
    assert one_line(done.stderr) == "imagen-tui: interrupted"
