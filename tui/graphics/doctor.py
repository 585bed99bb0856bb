"""`imagen-tui doctor`: what the terminal can show, which renderer is used, how to do better.

`doctor_report(facts)` renders the report (every terminal-supplied string already made
printable by the probe, and again here); `main(argv)` is the subcommand; `advice_once()` gives
the app its one-time notification text.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from imagen_tui.tui.exit import Parser, UsageError
from imagen_tui.tui.graphics.detect import (
    RENDERERS,
    Decision,
    TerminalFacts,
    decide,
    printable,
    resolve_setting,
)
from imagen_tui.tui.graphics.probe import gather_facts

SHARPEST = "kitty"  # nothing beats real pixels placed by the terminal


def _yes(value: bool | None) -> str:
    return {True: "on", False: "off", None: "unknown"}[value]


def _fact_lines(facts: TerminalFacts) -> list[tuple[str, str]]:
    env = " ".join(f"{k}={v}" for k, v in sorted(facts.env.items()) if k != "TMUX") or "-"
    rows = [("terminal", f"{env} (a tty: {'yes' if facts.is_tty else 'no'})")]
    if facts.in_tmux:
        rows.append(("tmux", f"{facts.tmux_version or 'unknown version'}, allow-passthrough "
                             f"{_yes(facts.tmux_passthrough)}"))  # fmt: skip
        rows.append(("outer terminal", f"{facts.tmux_termname or 'unknown (no client attached?)'}"
                                       f" features: {facts.tmux_termfeatures or '-'}"))  # fmt: skip
    da1 = ";".join(map(str, facts.da1)) if facts.da1 is not None else "no answer"
    rows.append(("DA1 reply", da1 + (" (sixel)" if facts.da1 and 4 in facts.da1 else "")))
    if not facts.in_tmux:
        rows.append(("kitty query", facts.kitty_reply or "no answer"))
    rows.append(("XTVERSION", facts.xtversion or "no answer"))
    cell = f"{facts.cell_px[0]}x{facts.cell_px[1]} px" if facts.cell_px else "unknown (10x20 px)"
    rows.append(("cell size", cell))
    return rows


def doctor_report(
    facts: TerminalFacts, requested: str = "auto", decision: Decision | None = None
) -> str:
    """The doctor's text: detected facts, the renderer used for `requested`, and advice."""
    decision = decision or decide(facts, requested)
    rows = _fact_lines(facts)
    rows.append(("renderer setting", requested))
    via = " (through tmux passthrough)" if decision.passthrough else ""
    rows.append(("renderer used", decision.renderer + via))
    width = max(len(name) for name, _ in rows) + 2
    lines = ["imagen-tui doctor: terminal graphics", ""]
    lines += [f"  {name + ':':<{width}}{printable(value)}" for name, value in rows]
    if decision.detected:
        lines += ["", "Why:"] + [f"  {printable(line)}" for line in decision.detected]
    if decision.advice:
        lines += ["", "Sharper previews:"] + [f"  {printable(line)}" for line in decision.advice]
    elif decision.renderer != SHARPEST and decision.renderer in ("halfcell", "unicode"):
        lines += ["", "No sharper renderer is known to work here."]
    return "\n".join(lines) + "\n"


def notification_text(lines: tuple[str, ...] | list[str]) -> str:
    """Terminal-wrapped advice lines as one notification: prose joined into one paragraph, an
    indented line (a config line to copy) kept on a line of its own."""
    text = ""
    for line in lines:
        if line.startswith(" "):
            text = f"{text.rstrip()}\n  {line.strip()}\n"
        else:
            text += ("" if not text or text.endswith("\n") else " ") + line.strip()
    return text.strip()


def advice_once(decision: Decision, state_dir: Path) -> str | None:
    """The notification text for `decision`'s advice, or None if there is none or it was shown.

    Remembers each distinct advice in `state_dir/graphics-advice-<hash>` (created on first
    use); an unwritable state dir means the advice is shown again next time, never an error.
    """
    if not decision.advice:
        return None
    lines = [*decision.detected[-1:], *notification_text(decision.advice).split("\n")]
    text = "\n".join(printable(line) for line in lines)  # printable() would hide the breaks
    marker = state_dir / f"graphics-advice-{hashlib.sha1(text.encode()).hexdigest()[:12]}"
    if marker.exists():
        return None
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
        marker.touch()
    except OSError:
        pass
    return text


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="imagen-tui doctor",
        description="Show what this terminal can draw and which preview renderer is used.",
    )
    parser.add_argument(
        "--renderer", metavar="NAME", help=f"renderer setting to evaluate: {', '.join(RENDERERS)}"
    )
    parser.add_argument(
        "--timeout", type=float, default=0.3, metavar="S",
        help="seconds to wait for the terminal's answers (default 0.3)",
    )  # fmt: skip
    return parser


def main(argv: Sequence[str], config_renderer: str | None = None, env: dict | None = None) -> int:
    """`imagen-tui doctor [--renderer NAME]`; prints the report; returns the exit code (0/2)."""
    env = dict(os.environ if env is None else env)
    try:
        opts = build_parser().parse_args(list(argv))
        requested = resolve_setting(opts.renderer, env, config_renderer)
    except ValueError as exc:
        print(f"imagen-tui doctor: error: {exc}", file=sys.stderr)
        return 2
    except UsageError as exc:  # one line, like every other command
        print(f"imagen-tui: error: {exc}", file=sys.stderr)
        return 2
    except SystemExit as exc:  # --help
        return 0 if exc.code == 0 else 2
    facts, _typed = gather_facts(env, timeout=max(0.05, min(opts.timeout, 2.0)))
    sys.stdout.write(doctor_report(facts, requested))
    return 0
