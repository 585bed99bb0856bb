"""Terminal input parsing where a bracketed paste is only ever text, never keys.

Textual 8.2.8's `XTermParser.parse` (textual/_xterm_parser.py, read 2026-11-30) handles an ESC
inside a paste with its escape-sequence loop: the characters after it are not added to the paste
buffer, and on the next ESC, a timeout or 32 characters they are *reissued as key presses*. A
pasted `"\\x1b" + "dd"` trashed the selected image; `"\\x07"` inside a longer run became ctrl+g.

`PasteSafeParser` takes every paste out of the stream before Textual's parser sees it: from the
start marker `ESC [ 200 ~` to the end marker `ESC [ 201 ~` (xterm "bracketed paste mode",
https://invisible-island.net/xterm/ctlseqs/ctlseqs.html#h2-Bracketed-Paste-Mode, read
2026-11-30) every character is text. The paste arrives as one `events.Paste` whose text has
CR/CRLF as newlines and every other control character as a visible stand-in (`␛`, `␇`).
Everything outside pastes goes through Textual's own parser unchanged.
"""

from __future__ import annotations

import contextlib
from collections.abc import Generator
from typing import Any

from textual import constants, events
from textual._parser import ParseEOF, ParseTimeout, Peek1, Read1, TokenCallback
from textual._xterm_parser import XTermParser

from imagen_tui.backends import visible

PASTE_START = "\x1b[200~"
PASTE_END = "\x1b[201~"
MAX_PASTE_CHARS = 1_000_000
"""Characters of one paste kept (a prompt is far shorter); the rest is read and dropped."""


def paste_text(raw: str) -> str:
    """What a pasted `raw` becomes in a text field: line breaks as `\\n`, tabs kept, every
    other control or reordering character as a visible stand-in."""
    text = raw.replace("\r\n", "\n").replace("\r", "\n")
    return visible(text, multiline=True)


class PasteSafeParser(XTermParser):
    """`XTermParser` whose bracketed pastes become one cleaned `events.Paste` and no keys."""

    def parse(self, token_callback: TokenCallback) -> Generator[Read1 | Peek1, str, None]:
        inner = super().parse(_without_pastes(token_callback))
        awaiting: Any = next(inner)
        held = ""  # a possible start of PASTE_START, not yet given to Textual's parser
        while True:
            wait = Read1(constants.ESCAPE_DELAY) if held else awaiting
            try:
                character = yield wait
            except ParseTimeout:
                awaiting = _send_all(inner, held, awaiting)
                held = ""
                if awaiting.timeout is not None:
                    awaiting = inner.throw(ParseTimeout())
                continue
            except ParseEOF:
                _send_all(inner, held, awaiting)
                _close(inner)
                return
            held += character
            while held and not PASTE_START.startswith(held):
                awaiting = inner.send(held[0])
                held = held[1:]
            if held == PASTE_START:
                held = ""
                text = yield from self._read_paste()
                token_callback(events.Paste(paste_text(text)))

    def _read_paste(self) -> Generator[Read1, str, str]:
        """Characters up to PASTE_END (which is dropped), at most MAX_PASTE_CHARS kept."""
        kept: list[str] = []
        tail = ""
        size = 0
        while True:
            try:
                character = yield Read1()
            except ParseEOF:
                return "".join(kept) + tail
            tail += character
            if tail == PASTE_END:
                return "".join(kept)
            while tail and not PASTE_END.startswith(tail):
                if size < MAX_PASTE_CHARS:
                    kept.append(tail[0])
                    size += 1
                tail = tail[1:]


def _without_pastes(token_callback: TokenCallback) -> TokenCallback:
    """Drop the inner parser's own Paste tokens (it never sees a whole paste any more)."""

    def forward(token: Any) -> None:
        if not isinstance(token, events.Paste):
            token_callback(token)

    return forward


def _send_all(inner: Generator[Any, str, None], text: str, awaiting: Any) -> Any:
    for character in text:
        awaiting = inner.send(character)
    return awaiting


def _close(inner: Generator[Any, str, None]) -> None:
    with contextlib.suppress(StopIteration, ParseEOF):
        inner.throw(ParseEOF())
