"""The terminal driver our apps run on: Textual's own, reading input with `PasteSafeParser`.

Textual's `LinuxDriver.run_input_thread` builds its `XTermParser` inline (textual 8.2.8,
drivers/linux_driver.py, read 2026-11-30), so the loop is repeated here with our parser; the rest
of the driver (terminal modes, writer thread, resize) is Textual's. Elsewhere (Windows, a driver
chosen through TEXTUAL_DRIVER, the headless test driver) Textual's choice stands.
"""

from __future__ import annotations

import os
import selectors
import sys
from codecs import getincrementaldecoder
from typing import Any

from textual import constants
from textual._loop import loop_last
from textual._parser import ParseError
from textual.app import App
from textual.driver import Driver

from imagen_tui.tui.paste_parser import PasteSafeParser

READ_BYTES = 4096


def new_parser(debug: bool = False) -> PasteSafeParser:
    """The parser our driver reads terminal input with (text in, Textual events out)."""
    return PasteSafeParser(debug)


def driver_class(app: App[Any]) -> type[Driver]:
    """The driver `app` should use: `PasteSafeDriver` on POSIX terminals, else Textual's pick.

    Call it from `App.get_driver_class` overrides (it needs the app's default as the fallback).
    """
    default = App.get_driver_class(app)
    if sys.platform == "win32" or constants.DRIVER is not None:
        return default
    from textual.drivers.linux_driver import LinuxDriver

    return PasteSafeDriver if default is LinuxDriver else default


def _paste_safe_driver() -> type[Driver]:
    from textual.drivers.linux_driver import LinuxDriver

    class PasteSafeDriver(LinuxDriver):
        """`LinuxDriver` whose input loop parses with `PasteSafeParser`."""

        def run_input_thread(self) -> None:
            selector = selectors.SelectSelector()
            selector.register(self.fileno, selectors.EVENT_READ)
            parser = new_parser(self._debug)
            decode = getincrementaldecoder("utf-8")().decode

            def process(ready: list[tuple[Any, int]], final: bool = False) -> None:
                for last, (_key, mask) in loop_last(ready):
                    if mask & selectors.EVENT_READ:
                        data = decode(os.read(self.fileno, READ_BYTES), final=final and last)
                        if not data:
                            break
                        for message in parser.feed(data):
                            self.process_message(message)
                for message in parser.tick():
                    self.process_message(message)

            try:
                while not self.exit_event.is_set():
                    process(selector.select(0.1))
                selector.unregister(self.fileno)
                process(selector.select(0.1), final=True)
            finally:
                selector.close()
                try:
                    for _message in parser.feed(""):
                        pass
                except (EOFError, ParseError):
                    pass

    return PasteSafeDriver


if sys.platform != "win32":
    PasteSafeDriver = _paste_safe_driver()
