"""The engine's logger, "imagen_tui", with `logging` imported only when something is logged.

Importing `logging` costs ~8 ms (it pulls in `traceback`, `threading`, `string`), a tenth of a
history listing that logs nothing. A face that shows warnings (the CLI prints each as one line
on stderr) registers its set-up with `on_first_use`; it runs before the first record.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import logging

NAME = "imagen_tui"
"""The logger every engine warning goes to (modules may log to children of it)."""

_pending: list[Callable[[logging.Logger], None]] = []


def logger() -> logging.Logger:
    """The "imagen_tui" logger, after any set-up registered with `on_first_use`."""
    import logging

    log = logging.getLogger(NAME)
    while _pending:
        _pending.pop(0)(log)
    return log


def on_first_use(setup: Callable[[logging.Logger], None]) -> None:
    """Run `setup(logger)` before anything is logged: at once when `logging` is already
    imported (some module may hold the logger and log through it directly), else at the first
    `logger()` call."""
    _pending.append(setup)
    if "logging" in sys.modules:
        logger()
