"""The tmux spawner, against a private tmux server per test."""

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

from imagen_tui.tui import tmux

needs_tmux = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
SLEEP = ["sleep", "30"]


class Server:
    """A private tmux server and the env of a pane inside it."""

    def __init__(self, base: list[str], env: dict[str, str]) -> None:
        self.base = base
        self.env = env

    def run(self, *args: str) -> str:
        proc = subprocess.run(
            [*self.base, *args], check=True, capture_output=True, text=True, timeout=5
        )
        return proc.stdout

    def windows(self) -> list[tuple[str, str, str, str]]:
        """(id, name, @imagen-slug, active) for every window of session t."""
        fmt = "#{window_id}\t#{window_name}\t#{@imagen-slug}\t#{window_active}"
        out = self.run("list-windows", "-t", "t", "-F", fmt)
        return [tuple(line.split("\t")) for line in out.splitlines()]  # type: ignore[misc]


@pytest.fixture
def server() -> Iterator[Server]:
    d = tempfile.mkdtemp(prefix="tmx")  # short: unix socket paths max ~107 bytes
    sock, conf = os.path.join(d, "s"), os.path.join(d, "empty.conf")
    Path(conf).touch()
    base = ["tmux", "-S", sock, "-f", conf]
    subprocess.run([*base, "new-session", "-d", "-s", "t", "-x", "120", "-y", "40"], check=True)
    out = subprocess.run(
        [*base, "display", "-p", "-t", "t", "#{pid} #{session_id} #{pane_id}"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    pid, sid, pane = out.split()
    env = {**os.environ, "TMUX": f"{sock},{pid},{sid.lstrip('$')}", "TMUX_PANE": pane}
    try:
        yield Server(base, env)
    finally:
        subprocess.run([*base, "kill-server"], capture_output=True)
        shutil.rmtree(d, ignore_errors=True)


def wait_for(check: Callable[[], Any], timeout: float = 5.0) -> Any:
    """Poll `check` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(0.02)
    pytest.fail(f"condition not met within {timeout}s")


def test_in_tmux_needs_both_vars() -> None:
    assert tmux.in_tmux({"TMUX": "/s,1,0", "TMUX_PANE": "%0"})
    assert not tmux.in_tmux({"TMUX": "/s,1,0"})
    assert not tmux.in_tmux({"TMUX_PANE": "%0", "TMUX": ""})
    assert not tmux.in_tmux()  # conftest scrubs TMUX*


def test_window_name_and_viewer_argv(tmp_path: Path) -> None:
    assert tmux.window_name("sunset-cat") == "img:sunset-cat"
    image = tmp_path / "a b.png"
    expected = [sys.executable, "-m", "imagen_tui.tui.cli", "view", str(image)]
    assert tmux.viewer_argv(image) == expected


def test_outside_tmux_is_an_error_not_an_exception(tmp_path: Path) -> None:
    result = tmux.open_image_window(tmp_path / "x.png", "x", env={}, argv=SLEEP)
    assert not result.ok
    assert result.window_id is None
    assert "not inside tmux" in (result.error or "")


@needs_tmux
def test_bogus_socket_reports_error(tmp_path: Path) -> None:
    env = {**os.environ, "TMUX": f"{tmp_path}/nope,1,0", "TMUX_PANE": "%0"}
    result = tmux.open_image_window(tmp_path / "x.png", "x", env=env, argv=SLEEP)
    assert not result.ok
    assert result.error and result.error.startswith("tmux display failed:")
    assert "\n" not in result.error


def test_missing_tmux_binary_reports_error(tmp_path: Path) -> None:
    def runner(*args: Any, **kwargs: Any) -> Any:
        raise FileNotFoundError("tmux")

    env = {"TMUX": "/s,1,0", "TMUX_PANE": "%0"}
    result = tmux.open_image_window(tmp_path / "x.png", "x", env=env, argv=SLEEP, runner=runner)
    assert result == tmux.SpawnResult(ok=False, error="tmux not found on PATH")


def test_timeout_reports_error(tmp_path: Path) -> None:
    calls: list[dict[str, Any]] = []

    def runner(cmd: list[str], **kwargs: Any) -> Any:
        calls.append(kwargs)
        raise subprocess.TimeoutExpired(cmd, kwargs["timeout"])

    env = {"TMUX": "/s,1,0", "TMUX_PANE": "%0"}
    result = tmux.open_image_window(tmp_path / "x.png", "x", env=env, argv=SLEEP, runner=runner)
    assert not result.ok
    assert result.error == "tmux display timed out after 5s"
    assert calls[0]["timeout"] == tmux.TMUX_TIMEOUT


@needs_tmux
def test_new_window_is_named_tagged_and_in_background(server: Server, tmp_path: Path) -> None:
    result = tmux.open_image_window(tmp_path / "a.png", "sunset-cat", env=server.env, argv=SLEEP)
    assert result.ok, result.error
    assert result.error is None
    assert not result.reused
    windows = server.windows()
    assert len(windows) == 2
    original, spawned = windows  # -a puts it right after ours
    assert spawned == (result.window_id, "img:sunset-cat", "sunset-cat", "0")
    assert original[3] == "1"  # focus stays where it was
    opts = server.run("show-options", "-w", "-t", result.window_id or "", "remain-on-exit")
    assert opts.strip() == "remain-on-exit failed"
    target = result.window_id or ""
    cwd = wait_for(lambda: server.run("display", "-p", "-t", target, "#{pane_current_path}"))
    cwd = cwd.strip()
    assert Path(cwd).resolve() == tmp_path.resolve()


@needs_tmux
def test_same_slug_reuses_window(server: Server, tmp_path: Path) -> None:
    first = tmux.open_image_window(tmp_path / "a.png", "cat", env=server.env, argv=SLEEP)
    out = tmp_path / "second"
    second = tmux.open_image_window(
        tmp_path / "b.png", "cat", env=server.env, argv=["sh", "-c", f"touch {out}; sleep 30"]
    )
    assert second.ok, second.error
    assert second.reused
    assert second.window_id == first.window_id
    assert len(server.windows()) == 2
    assert [w[3] for w in server.windows()] == ["1", "0"]  # the user's window stays in front
    wait_for(out.exists)  # the window now runs the new command


@needs_tmux
def test_other_slug_makes_another_window(server: Server, tmp_path: Path) -> None:
    a = tmux.open_image_window(tmp_path / "a.png", "cat", env=server.env, argv=SLEEP)
    b = tmux.open_image_window(tmp_path / "b.png", "dog", env=server.env, argv=SLEEP)
    assert a.ok and b.ok, (a.error, b.error)
    assert a.window_id != b.window_id
    assert sorted(w[1] for w in server.windows())[1:] == ["img:cat", "img:dog"]


@needs_tmux
def test_argv_and_slug_arrive_literally(server: Server, tmp_path: Path) -> None:
    out = tmp_path / "out"
    weird = "weird; $HOME 'q' \"dq\" #{session_id} ~ *;"
    argv = ["sh", "-c", 'printf %s "$1" > "$2"; sleep 30', "x", weird, str(out)]
    slug = "odd slug $HOME #{x};"
    result = tmux.open_image_window(tmp_path / "a.png", slug, env=server.env, argv=argv)
    assert result.ok, result.error
    wait_for(lambda: out.exists() and out.stat().st_size)
    assert out.read_text() == weird
    assert server.windows()[1][1:3] == (f"img:{slug}", slug)
    again = tmux.open_image_window(tmp_path / "a.png", slug, env=server.env, argv=SLEEP)
    assert again.reused and again.window_id == result.window_id


@needs_tmux
def test_reset_pane_title(server: Server) -> None:
    pane = server.env["TMUX_PANE"]
    server.run("select-pane", "-t", pane, "-T", "Gi=1,s=1;AAAA")
    assert tmux.reset_pane_title(env=server.env)
    assert server.run("display", "-p", "-t", pane, "#{pane_title}").strip() == "imagen-tui"


def test_reset_pane_title_outside_tmux() -> None:
    assert not tmux.reset_pane_title(env={})


@needs_tmux
def test_a_viewer_that_quits_closes_its_window_one_that_fails_stays(
    server: Server, tmp_path: Path
) -> None:
    # The sleeps stand for the viewer's start-up: the window is tagged long before it quits.
    quits = tmux.open_image_window(
        tmp_path / "a.png", "quits", env=server.env, argv=["sh", "-c", "sleep 6; exit 0"]
    )
    fails = tmux.open_image_window(
        tmp_path / "b.png", "fails", env=server.env, argv=["sh", "-c", "sleep 6; exit 3"]
    )
    assert quits.ok and fails.ok, (quits.error, fails.error)
    wait_for(lambda: len(server.windows()) == 2, timeout=20)
    time.sleep(0.3)  # and it stays so
    names = [w[1] for w in server.windows()]
    assert "img:quits" not in names and "img:fails" in names


@needs_tmux
def test_the_viewer_gets_our_config_and_state_dirs_not_the_servers(
    server: Server, tmp_path: Path
) -> None:
    """Seen in tmux: the server was started elsewhere, so `img:` viewers read the default
    config and the default state dir's index (n/p walked another history), not ours."""
    out = tmp_path / "seen"
    show = [
        "sh",
        "-c",
        f'echo "$XDG_STATE_HOME|$IMAGEN_TUI_CONFIG|$OPENAI_API_KEY" >> {out}; sleep 30',
    ]
    env = {
        **{k: server.env[k] for k in ("TMUX", "TMUX_PANE", "PATH")},
        "XDG_STATE_HOME": str(tmp_path / "state;"),  # a trailing ";" ends a tmux command
        "IMAGEN_TUI_CONFIG": str(tmp_path / "my config.toml"),
        "OPENAI_API_KEY": "sk-never-on-a-tmux-command-line",
    }
    for _ in range(2):  # new window, then the reused one
        result = tmux.open_image_window(tmp_path / "x.png", "fox", env=env, argv=show)
        assert result.ok, result.error
    lines = wait_for(lambda: out.exists() and len(out.read_text().splitlines()) == 2 and out)
    expected = f"{tmp_path / 'state;'}|{tmp_path / 'my config.toml'}|"
    assert lines.read_text().splitlines() == [expected, expected]
    assert tmux.viewer_environment(env) == [
        "-e", f"IMAGEN_TUI_CONFIG={tmp_path / 'my config.toml'}",
        "-e", f"XDG_STATE_HOME={tmp_path / 'state;'}",
    ]  # fmt: skip


def test_the_config_file_read_goes_to_the_viewer(tmp_path: Path) -> None:
    """`imagen-tui --config F`: the viewer reads F too (it wins over IMAGEN_TUI_CONFIG)."""
    env = {"IMAGEN_TUI_CONFIG": "/elsewhere.toml", "XDG_CACHE_HOME": "/c"}
    chosen = tmp_path / "f.toml"
    assert tmux.viewer_environment(env, chosen) == [
        "-e", f"IMAGEN_TUI_CONFIG={chosen}", "-e", "XDG_CACHE_HOME=/c",
    ]  # fmt: skip
