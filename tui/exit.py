"""Exit codes, the one-line error printer, and the CLI's own usage error.

Exit codes: 0 done; 1 generation failed; 2 usage or config error; 130 interrupted.
Everything a user can see on stderr goes through `fail()`, which makes control characters
visible, so no text from an image, a sidecar or a provider can drive the terminal.
"""

from __future__ import annotations

import argparse
import os
import sys

from imagen_tui.backends import ImagenTuiError, visible

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
PROG = "imagen-tui"


class UsageError(ImagenTuiError):
    """The command line is invalid (exit code 2)."""


class Parser(argparse.ArgumentParser):
    """argparse that reports one line and lets main() choose the exit code."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message} (see {self.prog} --help)")

    def _get_formatter(self) -> argparse.HelpFormatter:
        # argparse checks every add_argument with a formatter whose default width comes from
        # shutil (with bz2 and lzma): ~3 ms of each short command's start-up.
        return self.formatter_class(prog=self.prog, width=_columns() - 2)  # type: ignore[call-arg]


def _columns() -> int:
    """The terminal's width as shutil.get_terminal_size() finds it: $COLUMNS, else stdout's
    terminal, else 80."""
    try:
        return int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        pass
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns or 80
    except (AttributeError, ValueError, OSError):
        return 80


def fail(message: str) -> None:
    """Print one error line to stderr, control characters made visible."""
    print(f"{PROG}: {visible(message)}", file=sys.stderr, flush=True)
