"""Telling a tmux user about finished jobs, the passthrough hint, and the tmux clipboard: argv
only, every failure a quiet False/None (fake runners; the real tmux is in tests/e2e)."""

from __future__ import annotations

import subprocess
from types import SimpleNamespace
from typing import Any

from imagen_tui.tui import clipboard, tmux_notify

ENV = {"TMUX": "/tmp/s,1,0", "TMUX_PANE": "%3"}


def runner(out: str = "", rc: int = 0, calls: list[list[str]] | None = None) -> Any:
    def run(argv: list[str], **kwargs: Any) -> Any:
        assert kwargs["timeout"] > 0 and "shell" not in kwargs
        if calls is not None:
            calls.append(argv)
        return SimpleNamespace(returncode=rc, stdout=out, stderr="boom" if rc else "")

    return run


def test_user_sees_us_reads_our_pane_not_the_active_one() -> None:
    calls: list[list[str]] = []
    assert tmux_notify.user_sees_us(ENV, runner("1 1\n", calls=calls))
    assert calls[0][:5] == ["tmux", "display", "-p", "-t", "%3"]
    assert not tmux_notify.user_sees_us(ENV, runner("0 1\n"))  # another window is active
    assert not tmux_notify.user_sees_us(ENV, runner("1 0\n"))  # nobody attached
    assert tmux_notify.user_sees_us({}, runner("0 0\n"))  # outside tmux: nothing to say
    assert tmux_notify.user_sees_us(ENV, runner("", rc=1))  # cannot ask: stay quiet


def test_display_message_escapes_formats_and_trailing_semicolon() -> None:
    calls: list[list[str]] = []
    assert tmux_notify.display_message("done #{pane_id} a;", ENV, runner(calls=calls))
    assert calls[0][-1] == "done ##{pane_id} a\\;"
    assert calls[0][:5] == ["tmux", "display-message", "-d", "4000", "-t"]
    assert not tmux_notify.display_message("x", {}, runner())


def test_passthrough_off_detection() -> None:
    assert tmux_notify.passthrough_off(ENV, runner("off\n"))
    assert not tmux_notify.passthrough_off(ENV, runner("on\n"))
    assert not tmux_notify.passthrough_off(ENV, runner("", rc=1))
    assert not tmux_notify.passthrough_off({}, runner("off\n"))


def test_tmux_clipboard_argv_and_failures() -> None:
    calls: list[list[str]] = []
    assert clipboard.tmux_set_buffer("it's $(x);", ENV, runner(calls=calls)) is None
    assert calls[0] == ["tmux", "set-buffer", "-w", "--", "it's $(x)\\;"]
    assert clipboard.tmux_set_buffer("x", {}, runner()) == "not inside tmux"
    assert "failed: boom" in (clipboard.tmux_set_buffer("x", ENV, runner(rc=1)) or "")

    def timeout(argv: list[str], **kwargs: Any) -> Any:
        raise subprocess.TimeoutExpired(argv, kwargs["timeout"])

    assert "could not run" in (clipboard.tmux_set_buffer("x", ENV, timeout) or "")
