"""Real pixels end to end: the preview app in `xterm -ti vt340` under Xvfb, screenshotted.

Outside tmux xterm draws sixel, so the picture's colours fill the preview and the header is
still on the top row (no scroll). Inside tmux 3.3a the same app falls back to half-cell blocks,
which still show the colours, never a blank. Needs Debian's `xvfb xterm imagemagick
fonts-dejavu-core`; skipped with the reason when they are missing.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PIL import Image

from tests.graphics.images import quadrants

TOOLS = ("Xvfb", "xterm", "import")
MISSING = [tool for tool in TOOLS if shutil.which(tool) is None]
pytestmark = pytest.mark.skipif(
    bool(MISSING),
    reason=f"missing {', '.join(MISSING)}: apt-get install -y xvfb xterm imagemagick "
    "fonts-dejavu-core",
)
COLOURS = {"red": (255, 0, 0), "green": (0, 160, 0), "blue": (0, 0, 255), "yellow": (255, 220, 0)}
HEADER_BAND = (6, 18)  # px rows of the first text row (11 pt DejaVu cells are ~19 px tall)


def poll(check: Callable[[], object], tries: int = 60, pause: float = 0.25) -> object:
    """Call `check` until it returns something truthy; bounded in count."""
    for _ in range(tries):
        result = check()
        if result:
            return result
        time.sleep(pause)
    return check()


def x_accepts(number: str) -> bool:
    with socket.socket(socket.AF_UNIX) as sock:
        try:
            sock.connect(f"/tmp/.X11-unix/X{number}")
        except OSError:
            return False
    return True


def start_xvfb() -> tuple[subprocess.Popen, str]:
    """Xvfb on a display number of our own (other test runs on this host use low ones)."""
    for offset in range(10):
        number = str(200 + (os.getpid() + 37 * offset) % 600)
        xvfb = subprocess.Popen(
            ["Xvfb", f":{number}", "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        ready = poll(lambda n=number, x=xvfb: x_accepts(n) or x.poll() is not None)
        if ready and xvfb.poll() is None:
            return xvfb, f":{number}"
        xvfb.kill()
        xvfb.wait(timeout=10)
    pytest.fail("no free X display for Xvfb")


@pytest.fixture
def display() -> Iterator[str]:
    xvfb, name = start_xvfb()
    try:
        yield name
    finally:
        xvfb.terminate()
        xvfb.wait(timeout=10)


def run_in_xterm(display: str, tmp_path: Path, inner: list[str]) -> subprocess.Popen:
    env = {**os.environ, "DISPLAY": display}
    env.pop("TMUX", None)
    argv = ["xterm", "+lc", "-u8", "-ti", "vt340", "-geometry", "100x30+0+0",
            "-fa", "DejaVu Sans Mono", "-fs", "11", "-e", *inner]  # fmt: skip
    with open(tmp_path / "xterm.log", "wb") as log:
        return subprocess.Popen(argv, env=env, cwd=tmp_path, stdout=log, stderr=log)


def screenshot(display: str, path: Path) -> Image.Image:
    subprocess.run(["import", "-window", "root", str(path)], check=True, timeout=30,
                   env={**os.environ, "DISPLAY": display})  # fmt: skip
    return Image.open(path).convert("RGB")


def colour_counts(image: Image.Image, box: tuple[int, int, int, int]) -> dict[str, int]:
    region = image.crop(box)
    counts = dict.fromkeys(COLOURS, 0)
    for count, rgb in region.getcolors(region.width * region.height) or []:
        for name, want in COLOURS.items():
            if max(abs(a - b) for a, b in zip(rgb, want, strict=True)) <= 24:
                counts[name] += count
    return counts


def app_argv(image: Path, status: Path) -> list[str]:
    return [sys.executable, "-m", "imagen_tui.tui.preview_app", str(image), "--status", str(status)]


def check_picture(display: str, tmp_path: Path, status: Path, expected: str) -> Image.Image:
    assert poll(lambda: status.exists() and status.read_text().strip() == expected), (
        status.read_text() if status.exists() else "the app never reported its renderer"
    )

    def shot() -> Image.Image | None:
        image = screenshot(display, tmp_path / "shot.png")
        counts = colour_counts(image, (0, 0, 910, 580))
        return image if min(counts.values()) > 20_000 else None

    image = poll(shot, tries=20)
    if not image:
        last = colour_counts(screenshot(display, tmp_path / "last.png"), (0, 0, 910, 580))
        pytest.fail(f"the picture's colours never filled the preview: {last}")
    return image  # type: ignore[return-value]


def test_sixel_outside_tmux_shows_the_image_and_keeps_the_header(
    display: str, tmp_path: Path
) -> None:
    picture, status = tmp_path / "quad.png", tmp_path / "status.txt"
    quadrants((400, 300)).save(picture)
    xterm = run_in_xterm(display, tmp_path, app_argv(picture, status))
    try:
        shot = check_picture(display, tmp_path, status, "sixel")
        header = colour_counts(shot, (0, HEADER_BAND[0], 910, HEADER_BAND[1]))
        assert sum(header.values()) == 0, f"the picture reached the header row: {header}"
    finally:
        xterm.terminate()
        xterm.wait(timeout=10)


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_inside_tmux_3_3a_halfcell_shows_the_image(display: str, tmp_path: Path) -> None:
    picture, status = tmp_path / "quad.png", tmp_path / "status.txt"
    quadrants((400, 300)).save(picture)
    conf, sock = tmp_path / "empty.conf", tmp_path / "s"
    conf.write_text("")
    inner = ["tmux", "-S", str(sock), "-f", str(conf), "new-session",
             " ".join(map(str, app_argv(picture, status)))]  # fmt: skip
    xterm = run_in_xterm(display, tmp_path, inner)
    try:
        check_picture(display, tmp_path, status, "halfcell")
        title = subprocess.run(["tmux", "-S", str(sock), "display", "-p", "#{pane_title}"],
                               capture_output=True, text=True, timeout=10).stdout  # fmt: skip
        assert "Gi=" not in title and "\x1b" not in title  # no probe leaked into the title
    finally:
        subprocess.run(["tmux", "-S", str(sock), "kill-server"], capture_output=True, timeout=10)
        xterm.terminate()
        xterm.wait(timeout=10)
