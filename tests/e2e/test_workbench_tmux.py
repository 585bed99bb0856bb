"""The workbench in a private tmux server (`tmux -L`): type, ctrl+g, f4, o → an img: window runs
the viewer; and an image made by `imagen-tui --once` from outside shows up in the running app."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

needs_tmux = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
WAIT_S = 60.0  # a bound on every wait (the CI box may be loaded), not a timing claim


class Tmux:
    """A private server (`-L name`, socket under a temp TMUX_TMPDIR) running the workbench."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.base = ["tmux", "-L", f"wb{os.getpid()}", "-f", os.devnull]

    def run(self, *args: str) -> str:
        proc = subprocess.run(
            [*self.base, *args], env=self.env, capture_output=True, text=True, timeout=10,
            check=True,
        )  # fmt: skip
        return proc.stdout

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", "wb:0")

    def windows(self) -> list[list[str]]:
        fmt = "#{window_id}\t#{window_name}\t#{window_active}\t#{pane_start_command}"
        return [
            line.split("\t")
            for line in self.run("list-windows", "-t", "wb", "-F", fmt).splitlines()
        ]


def wait_for(check: Callable[[], Any], what: str, tmux: Tmux | None = None) -> Any:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(0.1)
    seen = f"; windows {tmux.windows()}; screen:\n{tmux.screen()}" if tmux else ""
    raise AssertionError(f"waited {WAIT_S:g}s for {what}{seen}")


@pytest.fixture
def started(tmp_path: Path) -> Iterator[tuple[Tmux, Path, Path]]:
    """The workbench just launched in a private server (not yet painted)."""
    out = tmp_path / "out"
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'[output]\ndir = "{out}"\n[preview]\nmode = "off"\n')
    sock_dir = tempfile.mkdtemp(prefix="tx")  # short: unix socket paths max ~107 bytes
    env = {**os.environ, "TMUX_TMPDIR": sock_dir, "TERM": "xterm-256color"}
    env.pop("TMUX", None)
    tmux = Tmux(env)
    app = [sys.executable, "-m", "imagen_tui.tui.cli", "--config", str(cfg)]
    tmux.run("new-session", "-d", "-s", "wb", "-x", "120", "-y", "36", "--", *app)
    try:
        yield tmux, out, cfg
    finally:
        subprocess.run([*tmux.base, "kill-server"], env=env, capture_output=True, timeout=10)
        shutil.rmtree(sock_dir, ignore_errors=True)


@pytest.fixture
def workbench(started: tuple[Tmux, Path, Path]) -> tuple[Tmux, Path, Path]:
    """The workbench painted and ready for keys."""
    tmux = started[0]
    wait_for(lambda: "Prompt" in tmux.screen() and "Estimate" in tmux.screen(), "first paint")
    return started


@needs_tmux
def test_keys_typed_during_start_up_are_not_lost(started: tuple[Tmux, Path, Path]) -> None:
    tmux, out, _cfg = started
    tmux.run("send-keys", "-t", "wb:0", "-l", "early bird")  # before the first frame
    tmux.run("send-keys", "-t", "wb:0", "C-g")
    image = wait_for(lambda: next(out.rglob("*.png"), None), "the image file")
    assert "early-bird" in image.name


@needs_tmux
def test_type_generate_browse_and_open_the_image_window(workbench: tuple[Tmux, Path, Path]) -> None:
    tmux, out, _cfg = workbench
    tmux.run("send-keys", "-t", "wb:0", "-l", "a red fox; $(echo pwned)")
    tmux.run("send-keys", "-t", "wb:0", "C-g")
    image = wait_for(lambda: next(out.rglob("*.png"), None), "the image file")
    wait_for(lambda: "✓" in tmux.screen(), "the job marked done")
    wait_for(lambda: "1/1" in tmux.screen(), "the image in history")
    tmux.run("send-keys", "-t", "wb:0", "F4")
    # The key bar lists the history keys once the list has focus.
    wait_for(lambda: "/ Search" in tmux.screen(), "the history focused", tmux)
    tmux.run("send-keys", "-t", "wb:0", "o")
    name = "img:a-red-fox-echo-pwned"
    window = wait_for(lambda: next((w for w in tmux.windows() if w[1] == name), None), name, tmux)
    assert window[2] == "0"  # opened in the background
    assert "view" in window[3] and str(image) in window[3]
    tmux.run("send-keys", "-t", "wb:0", "o")  # again: the same window is reused
    time.sleep(0.5)
    assert [w[1] for w in tmux.windows()].count(name) == 1


@needs_tmux
def test_image_made_by_once_elsewhere_shows_up(workbench: tuple[Tmux, Path, Path]) -> None:
    tmux, out, cfg = workbench
    wait_for(lambda: "empty" in tmux.screen(), "the empty history")
    env = {k: v for k, v in tmux.env.items() if not k.startswith("TMUX")}
    made = subprocess.run(
        [sys.executable, "-m", "imagen_tui.tui.cli", "--once", "lantern from outside",
         "--size", "64x64", "-q", "--config", str(cfg)],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    wait_for(lambda: "lantern from outside" in tmux.screen(), "the foreign image in the list")


@needs_tmux
def test_a_bracketed_paste_of_control_characters_presses_no_key(
    workbench: tuple[Tmux, Path, Path],
) -> None:
    tmux, out, cfg = workbench
    tmux.run("send-keys", "-t", "wb:0", "-l", "keep me")
    tmux.run("send-keys", "-t", "wb:0", "C-g")
    image = wait_for(lambda: next(out.rglob("*.png"), None), "the image file")
    wait_for(lambda: "1/1" in tmux.screen(), "the image in history")
    tmux.run("send-keys", "-t", "wb:0", "F4")
    wait_for(lambda: "/ Search" in tmux.screen(), "the history focused", tmux)
    # ESC d d would trash the image, BEL is ctrl+g: inside a paste they are text.
    tmux.run("set-buffer", "-b", "evil", "\x1bdd\x07y")
    tmux.run("paste-buffer", "-p", "-b", "evil", "-t", "wb:0")
    tmux.run("send-keys", "-t", "wb:0", "F2")  # then the same paste into the prompt
    tmux.run("paste-buffer", "-p", "-b", "evil", "-t", "wb:0")
    wait_for(lambda: "␛dd␇y" in tmux.screen(), "the paste shown as text in the prompt", tmux)
    assert image.exists() and len(list(out.rglob("*.png"))) == 1
    assert "Trashed" not in tmux.screen()
    jobs = subprocess.run(
        [sys.executable, "-m", "imagen_tui.tui.cli", "jobs", "--json", "--config", str(cfg)],
        env=tmux.env, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert len(jobs.stdout.splitlines()) == 1  # the BEL queued no second job
