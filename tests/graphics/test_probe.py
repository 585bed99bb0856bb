"""probe.gather_facts() against a fake terminal on a pty that answers, or does not."""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

import pytest

from imagen_tui.tui.graphics import probe
from imagen_tui.tui.graphics.detect import decide

KITTY_ANSWERS = {
    probe.KITTY_QUERY: "\x1b_Gi=4242;OK\x1b\\",
    probe.XTVERSION_QUERY: "\x1bP>|kitty(0.35.2)\x1b\\",
    probe.CELL_QUERY: "\x1b[6;20;10t",
    probe.DA1_QUERY: "\x1b[?62;c",
}
XTERM_ANSWERS = {
    probe.XTVERSION_QUERY: "\x1bP>|XTerm(379)\x1b\\",
    probe.CELL_QUERY: "\x1b[6;19;9t",
    probe.DA1_QUERY: "\x1b[?63;1;2;4;6;9;15;22c",
}


@contextmanager
def fake_terminal(answers: dict[str, str], typed: bytes = b"") -> Iterator[int]:
    """A pty whose far side answers each known query (in the order asked) after `typed`."""
    master, slave = os.openpty()
    seen: list[str] = []

    def serve() -> None:
        buf = ""
        while True:
            try:
                chunk = os.read(master, 4096).decode("ascii", "replace")
            except OSError:
                return
            if not chunk:
                return
            buf += chunk
            for query in answers:
                if query in buf and query not in seen:
                    seen.append(query)
            if probe.DA1_QUERY in buf:
                os.write(master, typed + "".join(answers[q] for q in seen).encode())
                return

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield slave
    finally:
        os.close(slave)
        thread.join(timeout=5)
        os.close(master)


def test_kitty_answers_are_parsed_and_typed_keys_handed_back() -> None:
    with fake_terminal(KITTY_ANSWERS, typed=b"jk\x1b[A") as fd:
        facts, typed = probe.gather_facts({"TERM": "xterm-kitty"}, in_fd=fd, out_fd=fd)
    assert facts.is_tty and facts.kitty_reply == "OK"
    assert facts.xtversion == "kitty(0.35.2)" and facts.da1 == (62,)
    assert typed == b"jk\x1b[A"
    assert decide(facts).renderer == "kitty"


def test_sixel_terminal() -> None:
    with fake_terminal(XTERM_ANSWERS) as fd:
        facts, typed = probe.gather_facts({"TERM": "xterm"}, in_fd=fd, out_fd=fd)
    assert 4 in (facts.da1 or ()) and facts.kitty_reply is None and typed == b""
    assert facts.cell_px == (9, 19)  # a fresh pty reports 0 pixels, so the CSI 16 t answer counts
    assert decide(facts).renderer == "sixel"


def test_silent_terminal_gives_up_and_keeps_keys() -> None:
    master, slave = os.openpty()
    try:
        os.write(master, b"q")  # typed before the probe; nothing ever answers
        facts, typed = probe.gather_facts({"TERM": "dumb"}, in_fd=slave, out_fd=slave, timeout=0.05)
    finally:
        os.close(slave)
        os.close(master)
    assert facts.da1 is None and facts.kitty_reply is None and typed == b"q"
    assert decide(facts).renderer == "halfcell"


def test_terminal_echo_mode_is_restored() -> None:
    import termios

    with fake_terminal(XTERM_ANSWERS) as fd:
        before = termios.tcgetattr(fd)
        probe.gather_facts({"TERM": "xterm"}, in_fd=fd, out_fd=fd)
        assert termios.tcgetattr(fd) == before


def test_parse_replies_strips_control_characters_from_text() -> None:
    replies = probe.parse_replies(b"\x1bP>|evil\x07name\x1b\\x\x1b[?1;2c")
    assert replies.xtversion == "evil?name" and replies.da1 == (1, 2) and replies.typed == b"x"


def fake_tmux(stdout: str, rc: int = 0):
    calls = []

    def run(argv, **kw):
        calls.append(argv)
        return subprocess.CompletedProcess(argv, rc, stdout=stdout, stderr="")

    return run, calls


def test_tmux_is_asked_once_for_everything() -> None:
    run, calls = fake_tmux("on\n3.3a\txterm-kitty\t256,RGB,title\n")
    env = {"TMUX": "/tmp/s,1,0", "TMUX_PANE": "%3", "TERM": "tmux-256color"}
    facts, _ = probe.gather_facts(env, in_fd=-1, out_fd=-1, run=run)
    assert len(calls) == 1 and calls[0][:4] == ["tmux", "show", "-Apv", "-t"]
    assert calls[0][4] == "%3" and ";" in calls[0]
    assert facts.tmux_passthrough is True and facts.tmux_version == "3.3a"
    assert facts.tmux_termname == "xterm-kitty" and "RGB" in (facts.tmux_termfeatures or "")
    assert decide(replace(facts, is_tty=True)).renderer == "kitty"


@pytest.mark.parametrize("run_result", ["", "garbage"])
def test_tmux_failures_leave_facts_unknown(run_result: str) -> None:
    run, _ = fake_tmux(run_result, rc=1)
    facts, _ = probe.gather_facts({"TMUX": "x"}, in_fd=-1, out_fd=-1, run=run)
    assert facts.tmux_passthrough is None and facts.tmux_termname is None


def test_missing_tmux_binary_is_not_an_error() -> None:
    def run(argv, **kw):
        raise FileNotFoundError("tmux")

    facts, _ = probe.gather_facts({"TMUX": "x"}, in_fd=-1, out_fd=-1, run=run)
    assert facts.in_tmux and facts.tmux_version is None
