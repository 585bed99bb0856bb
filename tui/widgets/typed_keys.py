"""Replay bytes typed during start-up detection as key events, so no keystroke is lost."""

from __future__ import annotations

from textual.app import App
from textual.events import Key


def replay_typed(app: App, typed: bytes) -> int:
    """Post the keys in `typed` (raw terminal input) to `app`; returns how many keys.

    Uses Textual's own terminal input parser, so escape sequences (arrows, function keys)
    become the same `Key` events the driver would have produced.
    """
    if not typed:
        return 0
    from textual._xterm_parser import XTermParser  # private, but the driver's own parser

    parser = XTermParser()
    text = typed.decode("utf-8", "replace")
    keys = [m for m in [*parser.feed(text), *parser.feed("")] if isinstance(m, Key)]
    for key in keys:
        app.post_message(key)
    return len(keys)
