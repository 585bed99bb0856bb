"""Gather `TerminalFacts` before Textual starts: env, tmux's answers, terminal query replies.

Bounded: tmux is asked once (one process, `TMUX_TIMEOUT` s); the terminal gets its queries in
one write and the reading stops at the DA1 reply (every terminal answers DA1, and it is sent
last, so earlier replies have arrived by then) or after `timeout` seconds. Bytes the user typed
meanwhile are not lost: they come back as `Probe.typed` for the app to replay.

Inside tmux nothing is sent to the outer terminal: tmux itself answers DA1 and XTVERSION, and
the outer terminal is known from tmux's ``#{client_termname}``; an APC sent to tmux unwrapped
would become the pane title (reference §1.3), so none is sent there.

Query facts: DA1 ``ESC[c`` → ``ESC[?a;b;…c``; XTVERSION ``ESC[>0q`` → ``ESC P>|name ESC \\``;
``ESC[16t`` → ``ESC[6;h;wt`` (cell size, xterm ctlseqs,
https://invisible-island.net/xterm/ctlseqs/ctlseqs.html, read 2026-11-29); the kitty query
``ESC_Gi=…,a=q…`` → ``ESC_Gi=…;OK ESC\\`` (https://sw.kovidgoyal.net/kitty/graphics-protocol/
#querying-support-and-available-transmission-mediums, read 2026-11-29).
"""

from __future__ import annotations

import array
import contextlib
import fcntl
import os
import re
import select
import subprocess
import termios
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from imagen_tui.tui.graphics.detect import TerminalFacts, printable

ENV_KEYS = ("TERM", "TERM_PROGRAM", "COLORTERM", "KITTY_WINDOW_ID", "TMUX", "TMUX_PANE")
TMUX_TIMEOUT = 1.0  # s
KITTY_QUERY = "\x1b_Gi=4242,s=1,v=1,a=q,t=d,f=24;AAAA\x1b\\"
XTVERSION_QUERY, CELL_QUERY, DA1_QUERY = "\x1b[>0q", "\x1b[16t", "\x1b[c"
_DA1 = re.compile(rb"\x1b\[\?([\d;]*)c")
_KITTY = re.compile(rb"\x1b_G[^;\x1b]*;([^\x1b]*)\x1b\\")
_XTVERSION = re.compile(rb"\x1bP>\|([^\x1b]*)\x1b\\")
_CELL = re.compile(rb"\x1b\[6;(\d+);(\d+)t")
_TMUX_FORMAT = "#{version}\t#{client_termname}\t#{client_termfeatures}"

Runner = Callable[..., subprocess.CompletedProcess]


@dataclass(frozen=True)
class Replies:
    """Parsed terminal replies; `typed` is every other byte read (the user's keys)."""

    da1: tuple[int, ...] | None = None
    kitty: str | None = None
    xtversion: str | None = None
    cell_px: tuple[int, int] | None = None
    typed: bytes = b""


def _take(pattern: re.Pattern[bytes], data: bytes) -> tuple[re.Match[bytes] | None, bytes]:
    match = pattern.search(data)
    if match is None:
        return None, data
    return match, data[: match.start()] + data[match.end() :]


def _text(match: re.Match[bytes] | None) -> str | None:
    return printable(match.group(1).decode("ascii", "replace")) if match else None


def parse_replies(data: bytes) -> Replies:
    """Split `data` read from the terminal into known replies and typed bytes."""
    da1, data = _take(_DA1, data)
    kitty, data = _take(_KITTY, data)
    xtversion, data = _take(_XTVERSION, data)
    cell, data = _take(_CELL, data)
    return Replies(
        da1=tuple(int(p) for p in da1.group(1).split(b";") if p) if da1 else None,
        kitty=_text(kitty),
        xtversion=_text(xtversion),
        cell_px=(int(cell.group(2)), int(cell.group(1))) if cell else None,
        typed=data,
    )


@contextlib.contextmanager
def _quiet_tty(fd: int) -> Iterator[None]:
    """No echo, no line buffering on `fd` for the duration; signals still work."""
    saved = termios.tcgetattr(fd)
    mode = termios.tcgetattr(fd)
    mode[3] &= ~(termios.ICANON | termios.ECHO)
    mode[6][termios.VMIN], mode[6][termios.VTIME] = 0, 0
    termios.tcsetattr(fd, termios.TCSANOW, mode)
    try:
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSANOW, saved)


def query_terminal(in_fd: int, out_fd: int, queries: str, timeout: float) -> Replies:
    """Write `queries` (ending with DA1) and read replies until DA1 arrives or `timeout` s."""
    data = b""
    with _quiet_tty(in_fd):
        os.write(out_fd, queries.encode("ascii"))
        deadline = time.monotonic() + timeout
        while not _DA1.search(data):
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([in_fd], [], [], left)[0]:
                break
            chunk = os.read(in_fd, 4096)
            if not chunk:
                break
            data += chunk
    return parse_replies(data)


def cell_size_from_ioctl(fd: int) -> tuple[int, int] | None:
    """(w, h) px of a cell from TIOCGWINSZ, or None when the terminal leaves pixels at 0."""
    buf = array.array("H", [0, 0, 0, 0])
    try:
        fcntl.ioctl(fd, termios.TIOCGWINSZ, buf)
    except OSError:
        return None
    rows, cols, xpx, ypx = buf
    if not (rows and cols and xpx and ypx):
        return None
    return xpx // cols, ypx // rows


def ask_tmux(env: Mapping[str, str], run: Runner = subprocess.run) -> dict[str, object]:
    """allow-passthrough, version and the client's termname/features, in one tmux call.

    Returns {} when tmux cannot be asked (not installed, timed out, failed).
    """
    pane = env.get("TMUX_PANE", "")
    target = ["-t", pane] if pane else []
    argv = ["tmux", "show", "-Apv", *target, "allow-passthrough", ";",
            "display", "-p", *target, _TMUX_FORMAT]  # fmt: skip
    try:
        res = run(argv, capture_output=True, text=True, timeout=TMUX_TIMEOUT, env=dict(env))
    except (OSError, subprocess.SubprocessError):
        return {}
    lines = res.stdout.splitlines()
    if res.returncode != 0 or len(lines) < 2:
        return {}
    version, termname, features = [printable(f) for f in [*lines[1].split("\t"), "", ""][:3]]
    return {
        "tmux_passthrough": lines[0].strip() == "on",
        "tmux_version": version or None,
        "tmux_termname": termname or None,
        "tmux_termfeatures": features or None,
    }


def gather_facts(
    env: Mapping[str, str] | None = None,
    *,
    in_fd: int = 0,
    out_fd: int = 1,
    timeout: float = 0.3,
    run: Runner = subprocess.run,
) -> tuple[TerminalFacts, bytes]:
    """Everything `detect.decide()` needs, and the bytes typed while asking.

    Call before `App.run()` (Textual's input thread would take the replies). Never raises
    for an unhelpful terminal: what cannot be learned stays None.
    """
    env = dict(os.environ if env is None else env)
    kept = {k: printable(env[k]) for k in ENV_KEYS if env.get(k)}
    is_tty = os.isatty(in_fd) and os.isatty(out_fd)
    tmux = ask_tmux(env, run) if env.get("TMUX") else {}
    replies = Replies()
    if is_tty:
        queries = XTVERSION_QUERY + CELL_QUERY + DA1_QUERY
        if not env.get("TMUX"):
            queries = KITTY_QUERY + queries
        try:
            replies = query_terminal(in_fd, out_fd, queries, timeout)
        except (OSError, termios.error):
            replies = Replies()
    facts = TerminalFacts(
        is_tty=is_tty, env=kept, da1=replies.da1, kitty_reply=replies.kitty,
        xtversion=replies.xtversion,
        cell_px=cell_size_from_ioctl(out_fd) or replies.cell_px if is_tty else None,
        **tmux,  # type: ignore[arg-type]
    )  # fmt: skip
    return facts, replies.typed


def pane_visible(env: Mapping[str, str], run: Runner = subprocess.run) -> tuple[int, bool] | None:
    """(attached clients, our window is current) for $TMUX_PANE, or None if tmux can't say.

    tmux forwards passthrough data only to clients that show the pane, so an image sent while
    the window was in the background (or nobody was attached) never reached the terminal.
    """
    pane = env.get("TMUX_PANE")
    if not pane:
        return None
    argv = ["tmux", "display", "-p", "-t", pane, "#{session_attached} #{window_active}"]
    try:
        res = run(argv, capture_output=True, text=True, timeout=TMUX_TIMEOUT, env=dict(env))
        clients, active = res.stdout.split()
        return int(clients), active == "1"
    except (OSError, subprocess.SubprocessError, ValueError):
        return None
