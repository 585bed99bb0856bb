"""Replay bytes typed during start-up detection as key events, so no keystroke is lost."""

from __future__ import annotations

from textual.app import App
from textual.events import Key, Paste


def replay_typed(app: App, typed: bytes) -> int:
    """Post the keys (and pastes) in `typed` (raw terminal input) to `app`; returns how many.

    Uses the driver's parser (`PasteSafeParser`, Textual's own outside pastes), so escape
    sequences become the same `Key` events the driver would have produced and a paste stays text.
    """
    if not typed:
        return 0
    from imagen_tui.tui.paste_parser import PasteSafeParser

    parser = PasteSafeParser()
    text = typed.decode("utf-8", "replace")
    found = [m for m in [*parser.feed(text), *parser.feed("")] if isinstance(m, Key | Paste)]
    for message in found:
        app.post_message(message)
    return len(found)
