"""Open generated images in background tmux windows (stdlib only: the headless CLI imports this).

Every tmux call is an argv list (never a shell string) with a timeout, and every failure comes
back as a one-line `SpawnResult.error` instead of an exception.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TMUX_TIMEOUT = 5.0
SLUG_OPTION = "@imagen-slug"
PANE_TITLE = "imagen-tui"

Runner = Callable[..., Any]


@dataclass(frozen=True)
class SpawnResult:
    """Outcome of `open_image_window`. With `ok`, `error` may still carry a non-fatal warning."""

    ok: bool
    window_id: str | None = None
    reused: bool = False
    error: str | None = None


class _TmuxError(Exception):
    """A failed tmux call, already phrased as one line for the user."""


def in_tmux(env: Mapping[str, str] | None = None) -> bool:
    """True when running inside a tmux pane ($TMUX and $TMUX_PANE both set)."""
    env = os.environ if env is None else env
    return bool(env.get("TMUX")) and bool(env.get("TMUX_PANE"))


def window_name(slug: str) -> str:
    """The name of the window that shows `slug`."""
    return f"img:{slug}"


def viewer_argv(image: Path) -> list[str]:
    """The command an image window runs; works even when `imagen-tui` is not on PATH."""
    return [sys.executable, "-m", "imagen_tui.tui.cli", "view", str(image)]


# What the viewer needs to read the same config, history and caches as the process that opens
# it: tmux starts a window with the *server's* environment, not ours. Names of files and
# folders only; never a key (values go on a tmux command line).
VIEWER_ENV = (
    "IMAGEN_TUI_CONFIG",
    "IMAGEN_RENDERER",
    "XDG_CONFIG_HOME",
    "XDG_DATA_HOME",
    "XDG_STATE_HOME",
    "XDG_CACHE_HOME",
)


def viewer_environment(env: Mapping[str, str], config: Path | None = None) -> list[str]:
    """`-e NAME=VALUE` arguments (for new-window / respawn-window, tmux 3.0+) for each
    `VIEWER_ENV` variable set in `env`, in sorted order; `config` (the file the caller
    read, e.g. from `--config`) is passed as IMAGEN_TUI_CONFIG."""
    chosen = {name: env[name] for name in VIEWER_ENV if env.get(name)}
    if config is not None:
        chosen["IMAGEN_TUI_CONFIG"] = str(Path(config).absolute())
    args: list[str] = []
    for name in sorted(chosen):
        args += ["-e", f"{name}={chosen[name]}"]
    return args


def _escape(arg: str) -> str:
    # tmux ends a command at an argument ending in ";" unless written "\;" (it strips the "\").
    return arg[:-1] + "\\;" if arg.endswith(";") else arg


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0] if lines else "no error output"


def _tmux(args: Sequence[str], env: Mapping[str, str], runner: Runner) -> str:
    """Run one tmux command; return its stdout or raise `_TmuxError`."""
    what = f"tmux {args[0]}"
    try:
        proc = runner(
            ["tmux", *(_escape(a) for a in args)],
            env=dict(env),
            capture_output=True,
            text=True,
            timeout=TMUX_TIMEOUT,
            check=False,
        )
    except FileNotFoundError:
        raise _TmuxError("tmux not found on PATH") from None
    except subprocess.TimeoutExpired:
        raise _TmuxError(f"{what} timed out after {TMUX_TIMEOUT:g}s") from None
    except OSError as exc:
        raise _TmuxError(f"{what} could not run: {exc}") from None
    if proc.returncode != 0:
        raise _TmuxError(f"{what} failed: {_first_line(proc.stderr or '')}")
    return proc.stdout or ""


def _own_window(env: Mapping[str, str], runner: Runner) -> tuple[str, str]:
    """(session id, window id) of the pane we run in; `display` needs `-t` to mean our pane."""
    fmt = "#{session_id} #{window_id}"
    out = _tmux(["display", "-p", "-t", env["TMUX_PANE"], fmt], env, runner)
    parts = out.split()
    if len(parts) != 2:
        raise _TmuxError(f"tmux display gave unexpected output: {out.strip()!r}")
    return parts[0], parts[1]


def _find_tagged(session: str, slug: str, env: Mapping[str, str], runner: Runner) -> str | None:
    """Window id tagged with `slug` in `session`, if any.

    Compared here rather than with `list-windows -f`, so no slug can break a format expression.
    """
    fmt = f"#{{window_id}}\t#{{{SLUG_OPTION}}}"
    out = _tmux(["list-windows", "-t", session, "-F", fmt], env, runner)
    for line in out.splitlines():
        window_id, _, tag = line.partition("\t")
        if tag == slug:
            return window_id
    return None


def _new_window(
    own_window: str,
    slug: str,
    cwd: str,
    argv: list[str],
    env: Mapping[str, str],
    runner: Runner,
    options: Sequence[str] = (),
) -> str:
    # "#" would start a format in the name; "##" is a literal "#".
    name = window_name(slug).replace("#", "##")
    args = ["new-window", "-d", "-P", "-F", "#{window_id}", "-a", "-t", own_window]
    out = _tmux([*args, "-n", name, "-c", cwd, *options, "--", *argv], env, runner)
    window_id = out.strip()
    if not window_id.startswith("@"):
        raise _TmuxError(f"tmux new-window gave unexpected output: {window_id!r}")
    return window_id


def _tag(window_id: str, slug: str, env: Mapping[str, str], runner: Runner) -> str | None:
    """Tag the window and keep it only if the viewer fails (to show an error it could not
    display itself); a viewer quit with `q` closes its window. Returns a warning instead of
    failing the spawn."""
    try:
        _tmux(["set-option", "-w", "-t", window_id, SLUG_OPTION, slug], env, runner)
        _tmux(["set-option", "-w", "-t", window_id, "remain-on-exit", "failed"], env, runner)
    except _TmuxError as exc:
        return str(exc)
    return None


def open_image_window(
    image: Path,
    slug: str,
    *,
    env: Mapping[str, str] | None = None,
    argv: list[str] | None = None,
    config: Path | None = None,
    runner: Runner = subprocess.run,
) -> SpawnResult:
    """Show `image` in a background window `img:<slug>` next to ours, reusing the slug's window.

    `argv` overrides the command (default `viewer_argv(image)`); `env` is the environment tmux
    runs with (default `os.environ`): it selects the server, and only its `VIEWER_ENV` names
    reach the viewer (`-e`); `config` is the config file the viewer should read too.
    """
    env = os.environ if env is None else env
    if not in_tmux(env):
        return SpawnResult(ok=False, error="not inside tmux ($TMUX or $TMUX_PANE is not set)")
    image = Path(image).absolute()
    command = list(argv) if argv is not None else viewer_argv(image)
    cwd = str(image.parent)
    extra = viewer_environment(env, config)
    try:
        session, own_window = _own_window(env, runner)
        existing = _find_tagged(session, slug, env, runner)
        if existing is not None:
            # respawn-window makes the window current (seen on 3.3a): put the user's view back.
            active = _tmux(["display", "-p", "-t", session, "#{window_id}"], env, runner).strip()
            respawn = ["respawn-window", "-k", "-t", existing, "-c", cwd, *extra]
            _tmux([*respawn, "--", *command], env, runner)
            if active.startswith("@") and active != existing:
                _tmux(["select-window", "-t", active], env, runner)
            return SpawnResult(ok=True, window_id=existing, reused=True)
        window_id = _new_window(own_window, slug, cwd, command, env, runner, extra)
    except _TmuxError as exc:
        return SpawnResult(ok=False, error=str(exc))
    return SpawnResult(ok=True, window_id=window_id, error=_tag(window_id, slug, env, runner))


def reset_pane_title(
    title: str = PANE_TITLE,
    *,
    env: Mapping[str, str] | None = None,
    runner: Runner = subprocess.run,
) -> bool:
    """Set our pane's title (textual-image's kitty probe leaves junk there); False if it failed."""
    env = os.environ if env is None else env
    if not in_tmux(env):
        return False
    try:
        _tmux(["select-pane", "-t", env["TMUX_PANE"], "-T", title], env, runner)
    except _TmuxError:
        return False
    return True
