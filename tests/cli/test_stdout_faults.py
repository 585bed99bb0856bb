"""An stdout that cannot be written (closed, or a full device) is one line on stderr, never a
traceback or an 'internal error' to report."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from .helpers import TIMEOUT_S, one_line


def run_with_stdout(stdout_fd: int | None, *args: str) -> subprocess.CompletedProcess[str]:
    """`imagen-tui ARGS` with fd 1 replaced by `stdout_fd`, or closed when it is None."""

    def setup() -> None:
        if stdout_fd is None:
            os.close(1)
        else:
            os.dup2(stdout_fd, 1)

    return subprocess.run(
        [sys.executable, "-m", "imagen_tui.tui.cli", *args],
        stdin=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=setup,
        pass_fds=() if stdout_fd is None else (stdout_fd,),
        timeout=TIMEOUT_S,
    )


def test_a_closed_stdout_is_no_traceback() -> None:
    done = run_with_stdout(None, "history", "--limit", "1")
    assert "Traceback" not in done.stderr
    assert done.returncode in (0, 1)


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_full_stdout_is_one_line_not_an_internal_error(tmp_path: Path) -> None:
    with open("/dev/full", "wb") as full:
        done = run_with_stdout(full.fileno(), "--once", "a fox", "--seed", "1", "--no-preview",
                               "--json", "--output", str(tmp_path))  # fmt: skip
    line = one_line(done.stderr)
    assert done.returncode == 1
    assert "internal error" not in line and "No space left" in line


@pytest.mark.parametrize(
    "args",
    [
        ["--once", "a fox", "--size", "64x64", "--seed", "1", "--no-preview"],
        ["--once", "a fox", "--size", "64x64", "--seed", "1", "--json"],
        ["config", "init"],
    ],
)
def test_a_closed_stdout_is_no_internal_error(args: list[str]) -> None:
    done = run_with_stdout(None, *args)
    assert done.stderr == "" and done.returncode == 0
