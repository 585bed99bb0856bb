"""`--once --preview` inside tmux opens the img:<slug> viewer window in the background."""

from __future__ import annotations

from pathlib import Path

from tests.cli.helpers import cli
from tests.unit.test_tmux import Server, needs_tmux, server, wait_for

__all__ = ["server"]  # the fixture, imported for the tests below

SECRET = "sk-never-on-a-command-line"


@needs_tmux
def test_once_preview_opens_viewer_window_without_stealing_focus(
    server: Server, tmp_path: Path
) -> None:
    env = {**server.env, "SOME_API_KEY": SECRET}
    res = cli("--once", "harbour at dawn", "--size", "64x64", "--preview",
              "--output", str(tmp_path), env=env)  # fmt: skip
    assert res.returncode == 0, res.stderr
    image = Path(res.stdout.strip())

    def viewer_window() -> tuple[str, ...] | None:
        return next((w for w in server.windows() if w[1] == "img:harbour-at-dawn"), None)

    window = wait_for(viewer_window)
    assert window[2] == "harbour-at-dawn" and window[3] == "0"  # tagged, not the active window
    fmt = "#{pane_start_command}\t#{pane_current_path}"
    command, cwd = server.run("list-panes", "-t", window[0], "-F", fmt).strip().split("\t")
    assert "view" in command and str(image) in command
    assert SECRET not in command
    assert Path(cwd) == image.parent

    again = cli("--once", "harbour at dawn", "--size", "64x64", "--preview",
                "--output", str(tmp_path), env=env)  # fmt: skip
    assert again.returncode == 0, again.stderr
    names = [w[1] for w in server.windows()]
    assert names.count("img:harbour-at-dawn") == 1  # reused, not piled up


def test_preview_auto_outside_tmux_opens_nothing(tmp_path: Path) -> None:
    res = cli("--once", "x", "--size", "64x64", "--output", str(tmp_path))
    assert res.returncode == 0 and res.stderr == ""


@needs_tmux
def test_preview_failure_is_reported_not_fatal(tmp_path: Path) -> None:
    env = {"TMUX": f"{tmp_path}/no-socket,1,0", "TMUX_PANE": "%0"}
    res = cli("--once", "x", "--size", "64x64", "--preview", "--output", str(tmp_path), env=env)
    assert res.returncode == 0
    assert Path(res.stdout.strip()).is_file()
    assert res.stderr.startswith("imagen-tui: preview: ") and len(res.stderr.splitlines()) == 1
