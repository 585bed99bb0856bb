"""`imagen-tui doctor`: the report, the exact tmux line, the one-time notice."""

from __future__ import annotations

from pathlib import Path

import pytest

from imagen_tui.tui.graphics import doctor
from imagen_tui.tui.graphics.detect import PASSTHROUGH_LINE, Decision, TerminalFacts, decide

TMUX = {"TMUX": "/tmp/s,1,0", "TERM": "tmux-256color"}
KITTY_BEHIND_TMUX = TerminalFacts(
    is_tty=True, env=TMUX, da1=(1, 2), tmux_passthrough=False,
    tmux_termname="xterm-kitty", tmux_version="3.3a", cell_px=(9, 19),
)  # fmt: skip


def test_report_names_facts_renderer_and_the_tmux_line() -> None:
    report = doctor.doctor_report(KITTY_BEHIND_TMUX)
    assert "tmux:" in report and "3.3a, allow-passthrough off" in report
    assert "xterm-kitty" in report and "9x19 px" in report
    assert "renderer used:    halfcell" in report
    assert f"    {PASSTHROUGH_LINE}" in report


def test_report_for_passthrough_on_uses_kitty() -> None:
    from dataclasses import replace

    report = doctor.doctor_report(replace(KITTY_BEHIND_TMUX, tmux_passthrough=True))
    assert "renderer used:    kitty (through tmux passthrough)" in report
    assert PASSTHROUGH_LINE not in report


def test_report_never_carries_control_characters() -> None:
    evil = TerminalFacts(is_tty=True, env={"TERM": "x\x1b[2J"}, xtversion="a\x1b]0;t\x07b")
    report = doctor.doctor_report(evil)
    assert "\x1b" not in report and "\x07" not in report


def test_advice_is_given_once(tmp_path: Path) -> None:
    decision = decide(KITTY_BEHIND_TMUX)
    first = doctor.advice_once(decision, tmp_path / "state")
    assert first is not None and f"\n  {PASSTHROUGH_LINE.strip()}\n" in first  # its own line
    assert "?" not in first and "\x1b" not in first
    assert doctor.advice_once(decision, tmp_path / "state") is None
    sharp = decide(TerminalFacts(is_tty=True, env={"TERM": "xterm"}, da1=(4,)))
    assert doctor.advice_once(sharp, tmp_path / "state") is None


def test_advice_text_keeps_config_lines_apart_and_no_control_characters() -> None:
    text = doctor.notification_text(["Add this", "    set -g x on", "then restart."])
    assert text == "Add this\n  set -g x on\nthen restart."


def test_advice_never_carries_control_characters(tmp_path: Path) -> None:
    evil = Decision("halfcell", detected=("TERM x\x1b[2J",), advice=("a\x07b", "    c\x1bd"))
    text = doctor.advice_once(evil, tmp_path)
    assert text == "TERM x?[2J\na?b\n  c?d"


def test_main_off_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    assert doctor.main(["--renderer", "unicode"], env={"TERM": "xterm"}) == 0
    out = capsys.readouterr().out
    assert "renderer setting: unicode" in out and "renderer used:    unicode" in out


def test_main_rejects_unknown_renderers(capsys: pytest.CaptureFixture[str]) -> None:
    assert doctor.main(["--renderer", "iterm"], env={}) == 2
    assert "choose from" in capsys.readouterr().err
    assert doctor.main(["--bogus"], env={}) == 2
