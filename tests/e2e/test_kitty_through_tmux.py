"""kitty placeholders through a real tmux 3.3a with allow-passthrough on.

A client attached on a pty plays the outer terminal: everything tmux writes to it is read, so
the test sees exactly what kitty would: the transmission unwrapped by tmux, and the pane's
placeholder cells (from `capture-pane -e`) that tmux redraws like ordinary text.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import ImageChops

from imagen_tui.tui.graphics.fit import open_image
from tests.graphics.decoders import APC, decode_kitty, decode_placeholders
from tests.graphics.images import quadrants

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


def poll(check: Callable[[], object], tries: int = 80, pause: float = 0.25) -> object:
    for _ in range(tries):
        if result := check():
            return result
        time.sleep(pause)
    return check()


def test_kitty_image_and_placeholders_reach_the_outer_terminal(tmp_path: Path) -> None:
    picture, status = tmp_path / "quad.png", tmp_path / "status.txt"
    source = quadrants((400, 300))
    source.save(picture)
    sock, conf = str(tmp_path / "s"), tmp_path / "tmux.conf"
    conf.write_text("set -g allow-passthrough on\nset -g status off\n")
    base = ["tmux", "-S", sock, "-f", str(conf)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("TMUX")}
    env.update(LANG="C.UTF-8", TERM="xterm-256color")
    app = [sys.executable, "-m", "imagen_tui.tui.preview_app", str(picture),
           "--renderer", "kitty", "--status", str(status)]  # fmt: skip
    subprocess.run([*base, "new-session", "-d", "-x", "80", "-y", "24", "--", *app],
                   env=env, check=True, timeout=10)  # fmt: skip
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 480, 1600))
    seen = bytearray()

    def read() -> None:
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                return
            if not chunk:
                return
            seen.extend(chunk)

    reader = threading.Thread(target=read, daemon=True)
    client = None
    try:
        assert poll(lambda: status.exists() and status.read_text().strip() == "kitty")
        reader.start()
        client = subprocess.Popen([*base, "-u", "attach"], stdin=slave, stdout=slave,
                                  stderr=slave, env=env)  # fmt: skip

        def transmitted() -> object:
            text = seen.decode("utf-8", "replace")
            commands = "".join(m.group(0) for m in APC.finditer(text))
            state = decode_kitty(commands) if "a=p" in commands else None
            return state if state and state.images else None

        state = poll(transmitted)
        assert state, "no kitty transmission reached the attached client"
        assert "\x1bPtmux;" not in seen.decode("utf-8", "replace"), "tmux forwards it unwrapped"
        (image_id,) = state.images  # type: ignore[attr-defined]
        cols, rows = state.placements[image_id]  # type: ignore[attr-defined]
        thumb = open_image(source, (80 * 16, 22 * 32))  # tmux's default 16x32 px cells
        assert ImageChops.difference(state.images[image_id], thumb).getbbox() is None  # type: ignore[attr-defined]
        captured = subprocess.run([*base, "capture-pane", "-p", "-e", "-t", "%0"], env=env,
                                  capture_output=True, text=True, timeout=10).stdout  # fmt: skip
        grid = decode_placeholders(captured.splitlines())
        cells = grid[image_id]
        assert len(cells) == cols * rows
        assert set(cells.values()) == {(r, c) for r in range(rows) for c in range(cols)}
        title = subprocess.run([*base, "display", "-p", "#{pane_title}"], env=env,
                               capture_output=True, text=True, timeout=10).stdout  # fmt: skip
        assert "Gi=" not in title
    finally:
        subprocess.run([*base, "kill-server"], capture_output=True, timeout=10)
        if client is not None:
            client.wait(timeout=10)
        os.close(slave)
        os.close(master)
