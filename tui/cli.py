"""Command line: argument parsing, subcommand dispatch and exit codes.

Exit codes: 0 done; 1 generation failed; 2 usage or config error; 130 interrupted.
Textual is imported only to launch the workbench or the viewer, never for `--once`.
"""

from __future__ import annotations

import argparse
import errno
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

# pydantic scans every installed distribution for its own plugins on first use (~20 ms of each
# start-up); imagen-tui uses none. A user who sets the variable keeps their value.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

from imagen_tui.backends import ConfigError, ImagenTuiError

from .exit import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_USAGE, PROG, Parser, UsageError, fail

if TYPE_CHECKING:
    import logging

SUBCOMMANDS = (
    "backends", "config", "history", "view", "usage", "jobs", "cancel",
    "trash", "restore", "purge", "library", "rerun", "doctor",
)  # fmt: skip
GLOBAL_VALUE_OPTIONS = ("--config",)
"""Global options that take a value; they may come before or after the subcommand."""
VALUE_OPTIONS = frozenset({
    "--once", "--backend", "--size", "--seed", "--steps", "--style", "--negative", "-n",
    "--ref", "-o", "--output", *GLOBAL_VALUE_OPTIONS,
})  # fmt: skip
"""Options of the main parser that take a value (tests/cli check it against the parser): a
value is never a subcommand (`--once history` makes an image of "history")."""


def build_parser() -> Parser:
    p = Parser(
        prog=PROG,
        description="Generate images from a terminal. Without --once it opens the workbench.",
        epilog=(
            f"subcommands: {', '.join(SUBCOMMANDS)} (e.g. {PROG} backends --help). "
            "Global options such as --config and --json may come before or after a subcommand."
        ),
    )
    p.add_argument("--once", metavar="PROMPT", help="generate headless and exit; - reads stdin")
    p.add_argument("--backend", metavar="NAME", help="backend instance (default: default_backend)")
    p.add_argument(
        "--size", metavar="WxH", help="image size, each side 64-4096 (default 1024x1024)"
    )
    p.add_argument("--seed", type=int, metavar="N", help="seed (default: random, reported)")
    p.add_argument(
        "--steps", type=int, metavar="N", help="sampling steps, where the backend has them"
    )
    p.add_argument(
        "--style", metavar="NAME", help="a [styles.NAME] prompt template from the config"
    )
    p.add_argument("--negative", metavar="TEXT", default="", help="negative prompt")
    p.add_argument("-n", dest="count", type=int, default=1, metavar="COUNT", help="images to make")
    p.add_argument("--ref", action="append", default=[], metavar="FILE", help="reference image")
    p.add_argument(
        "-o", dest="options", action="append", default=[], metavar="KEY=VALUE",
        help="backend option for this run (see: imagen-tui backends NAME)",
    )  # fmt: skip
    p.add_argument("--output", metavar="DIR", help="write into DIR instead of output.dir")
    p.add_argument("--json", action="store_true", help="print one JSON object per image")
    p.add_argument("--no-sidecar", action="store_true", help="do not write the .json sidecar")
    preview = p.add_mutually_exclusive_group()
    preview.add_argument("--preview", dest="preview", action="store_const", const="on",
                         help="open the image in an img:<slug> tmux window")  # fmt: skip
    preview.add_argument("--no-preview", dest="preview", action="store_const", const="off",
                         help="never open a preview window")  # fmt: skip
    p.add_argument("-q", "--quiet", action="store_true", help="no progress line on stderr")
    p.add_argument("--config", metavar="PATH", help="config file (default: imagen-tui config path)")
    p.add_argument("--version", action=VersionAction, nargs=0, help="print the version and exit")
    return p


class VersionAction(argparse.Action):
    """--version, reading package metadata only when asked (it costs ~20 ms of start-up)."""

    def __call__(self, parser, namespace, values, option_string=None) -> None:  # noqa: ANN001
        from importlib.metadata import PackageNotFoundError, version

        try:
            found = version("imagen-tui")
        except PackageNotFoundError:
            found = "unknown"
        print(f"{parser.prog} {found}")
        parser.exit()


def subcommand_first(args: list[str]) -> list[str] | None:
    """`args` reordered so the subcommand comes first, when one follows only options
    (`imagen-tui --config F history --json` → `history --config F --json`); else None."""
    i = 0
    while i < len(args):
        arg = args[i]
        if arg in SUBCOMMANDS:
            return [arg, *args[:i], *args[i + 1 :]]
        if not arg.startswith("-") or arg in ("-", "--"):
            return None
        i += 2 if arg in VALUE_OPTIONS else 1
    return None


def unknown_command(word: str) -> str:
    """The error for a first argument that is no subcommand: a typo, or a prompt without
    --once."""
    import difflib
    import shlex

    close = difflib.get_close_matches(word, SUBCOMMANDS, n=1)
    if close:
        return f"unknown command {word!r} (did you mean {close[0]}?)"
    return (
        f"unknown command {shlex.quote(word)}; to make an image: {PROG} --once "
        f"{shlex.quote(word)} (commands: {', '.join(SUBCOMMANDS)})"
    )


QUICK_COMMANDS = frozenset({"history", "jobs", "cancel", "usage", "config", "backends"})
"""Subcommands that read a little and exit: they run with the garbage collector off."""


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `imagen-tui` script: one line per error, never a traceback."""
    args = list(sys.argv[1:] if argv is None else argv)
    reordered = subcommand_first(args)
    try:
        _log_to_stderr(lazily=reordered is not None and reordered[0] in STORE_ONLY_COMMANDS)
        _check_cwd()
        if reordered is not None and reordered[0] == "doctor":
            return _doctor(reordered[1:])
        if reordered is not None:
            from . import subcommands

            return subcommands.run(reordered)
        if args and not args[0].startswith("-"):
            raise UsageError(unknown_command(args[0]))
        opts = build_parser().parse_args(args)
        if opts.once is not None:
            from .headless import run_once

            return run_once(opts)
        return _launch_workbench(opts)
    except UsageError as exc:
        fail(f"error: {exc}")
        return EXIT_USAGE
    except ConfigError as exc:
        for problem in exc.problems:
            fail(f"config error: {problem}")
        return EXIT_USAGE
    except ImagenTuiError as exc:  # store and engine failures a user can act on
        fail(f"error: {exc.message}")
        return EXIT_FAILED
    except KeyboardInterrupt:
        fail("interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        sys.stderr.close()  # the reader went away (e.g. `| head`); nothing left to say
        return EXIT_FAILED
    except OSError as exc:
        if exc.errno not in _FULL_DEVICE:
            return _internal_error(exc)
        fail(f"error: cannot write: {exc.strerror} (free some space, or write elsewhere)")
        return EXIT_FAILED
    except MemoryError:
        fail("error: out of memory; try a smaller size or fewer images (-n)")
        return EXIT_FAILED
    except Exception as exc:  # a bug: one line for the user, the traceback in a file
        return _internal_error(exc)


_FULL_DEVICE = (errno.ENOSPC, errno.EDQUOT)
"""A write that failed for want of room (stdout on a full disk or /dev/full): the user's to fix."""


def _internal_error(exc: BaseException) -> int:
    """A bug: one line for the user, the traceback in a file; EXIT_FAILED."""
    where = _save_crash_report()
    fail(f"internal error: {type(exc).__name__}: {exc} (please report it; details in {where})")
    return EXIT_FAILED


def _no_gc() -> None:
    """A short-lived process: collecting garbage costs more time than the memory it frees."""
    import gc

    gc.disable()
    gc.freeze()


def _doctor(args: list[str]) -> int:
    """`imagen-tui doctor [--renderer NAME] [--config PATH]`: what the terminal can show."""
    from imagen_tui.backends import Engine

    from .graphics import doctor

    config_path = None
    if "--config" in args:
        at = args.index("--config")
        config_path = args[at + 1] if at + 1 < len(args) else None
        args = args[:at] + args[at + 2 :]
    renderer = Engine.open(config_path).config.preview.renderer
    return doctor.main(args, config_renderer=renderer)


def _check_cwd() -> None:
    try:
        os.getcwd()
    except FileNotFoundError:
        raise UsageError("the current directory no longer exists; cd to another one") from None


STORE_ONLY_COMMANDS = frozenset({"history", "usage"})
"""Subcommands that never reach the engine: their warnings (the config's) all go through
`logs.logger()`, so `logging` is imported only when there is something to print."""


def _log_to_stderr(*, lazily: bool = False) -> None:
    """Warnings of the engine (logger "imagen_tui") as one visible line each on stderr; set up
    at the first warning when `lazily` (for commands that log only through `logs.logger()`)."""
    from imagen_tui.backends import logs

    if lazily:
        logs.on_first_use(_one_line_handler)
    else:
        _one_line_handler(logs.logger())


def _one_line_handler(logger: logging.Logger) -> None:
    """Make `logger` print each warning as one line on stderr, control characters shown."""
    import logging

    from imagen_tui.backends import visible

    class OneLine(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            fail(f"{record.levelname.lower()}: {visible(record.getMessage())}")

    if not any(isinstance(h, OneLine) for h in logger.handlers):
        logger.handlers = [h for h in logger.handlers if type(h).__name__ != "OneLine"]
        logger.addHandler(OneLine(logging.WARNING))
        logger.propagate = False


def _save_crash_report() -> str:
    import tempfile
    import traceback

    text = traceback.format_exc()
    try:
        from imagen_tui.backends import paths

        target = paths.state_dir() / "crash.log"
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "a", encoding="utf-8") as fh:
            fh.write(text + "\n")
        return str(target)
    except OSError:
        with tempfile.NamedTemporaryFile("w", suffix=".log", delete=False) as fh:
            fh.write(text)
            return fh.name


def _launch_workbench(opts: argparse.Namespace) -> int:
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UsageError("the workbench needs a terminal; in scripts use --once PROMPT")
    from .workbench import run_workbench  # Textual is imported only here

    return run_workbench(opts.config, preview=opts.preview)


def entry() -> None:
    """The `imagen-tui` script: `main()`, then exit. A short command (`--once`, the quick
    subcommands) runs with the garbage collector off and, having written and closed everything,
    leaves without the interpreter's teardown of every module (~30 ms of a ~300 ms `--once`
    here). `main()` itself changes neither, for callers in a longer-lived process."""
    _reopen_closed_streams()
    args = sys.argv[1:]
    short = _short_lived(args)
    if short:
        _no_gc()
    if _generates(args):
        _terminate_as_interrupt()
    code = main(args)
    if short:
        for stream in (sys.stdout, sys.stderr):  # None when the caller closed the fd
            try:
                if stream is not None:
                    stream.flush()
            except (OSError, ValueError):  # the reader went away, or stdout was closed
                pass
        os._exit(code)
    sys.exit(code)


def _reopen_closed_streams() -> None:
    """A script may start us with stdout or stderr closed (`>&-`): Python then sets the
    stream to None, and the first print or isatty() on it was an 'internal error'. Point each
    closed one at /dev/null, on its own fd: else the next file opened (the index, the job log)
    would take fd 1 or 2, and whatever writes there (a child process) would land in it."""
    for fd, name in ((0, "stdin"), (1, "stdout"), (2, "stderr")):
        try:
            os.fstat(fd)
        except OSError:
            null = os.open(os.devnull, os.O_RDONLY if fd == 0 else os.O_WRONLY)
            if null != fd:
                os.dup2(null, fd)
                os.close(null)
        if getattr(sys, name) is None:
            setattr(sys, name, open(fd, "r" if fd == 0 else "w", closefd=False))  # noqa: SIM115


def _generates(args: list[str]) -> bool:
    """`--once` or `rerun`: a run that writes images headless."""
    reordered = subcommand_first(args)
    if reordered is not None:
        return reordered[0] == "rerun"
    return any(arg == "--once" or arg.startswith("--once=") for arg in args)


def _terminate_as_interrupt() -> None:
    """SIGTERM (`kill`, a script's timeout) and SIGHUP (its tmux pane or terminal closed)
    interrupt like Ctrl-C from the start: exit 130
    with one line, as once the job runs. Left at the default, a SIGTERM while the config
    loads or the request is checked killed the process with no word (status -15)."""
    import signal

    signal.signal(signal.SIGTERM, signal.default_int_handler)
    if hasattr(signal, "SIGHUP"):  # the pane or terminal closed: cancel, as for SIGTERM
        signal.signal(signal.SIGHUP, signal.default_int_handler)


def _short_lived(args: list[str]) -> bool:
    reordered = subcommand_first(args)
    if reordered is not None:
        return reordered[0] in QUICK_COMMANDS and "--reindex" not in reordered
    return any(arg == "--once" or arg.startswith("--once=") for arg in args)


if __name__ == "__main__":
    entry()
