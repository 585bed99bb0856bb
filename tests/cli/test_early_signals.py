"""SIGTERM before the job runs (config loading, checks) interrupts like Ctrl-C: exit 130."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.helpers import TIMEOUT_S, cli, one_line

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


def test_sighup_of_a_running_job_cancels_it_and_exits_130_leaving_no_file(
    tmp_path: Path,
) -> None:
    """A closed tmux pane or terminal sends SIGHUP: the job is cancelled (reaching the
    provider), not left for the next process to find dead."""
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "imagen_tui.tui.cli", "--once", "a fox", "-o", "latency_s=20",
         "--no-preview", "--output", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ),
    )  # fmt: skip
    try:
        for _ in range(200):  # bounded: until the job log shows it running
            listed = cli("jobs", "--json", "--state", "running")
            if listed.stdout.strip() or proc.poll() is not None:
                break
        assert listed.stdout.strip(), "the job never showed as running"
        proc.send_signal(signal.SIGHUP)
        _, stderr = proc.communicate(timeout=TIMEOUT_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130
    assert one_line(stderr).startswith("imagen-tui: interrupted")
    job = json.loads(cli("jobs", "--json", "--limit", "1").stdout)
    assert job["state"] == "cancelled"
    assert [p for p in out.rglob("*") if p.is_file()] == []
