"""Make text from providers safe to show: one line, no live control characters, bounded length.

Provider error messages, websocket frames and log lines are untrusted: an ESC byte in them would
reach the user's terminal as a live escape sequence. Everything such text passes through here
before it lands in an error detail or a progress message.
"""

from __future__ import annotations

import unicodedata

MAX_DETAIL_CHARS = 300

# C0/C1 controls, DEL, and format characters such as bidi overrides (Cf) that reorder a line.
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})


def one_line(text: object, limit: int = MAX_DETAIL_CHARS) -> str:
    """`text` as one printable line of at most `limit` characters ("…" marks a cut).

    Whitespace runs (newlines and tabs included) become one space; every other control or
    format character is dropped.
    """
    chars = []
    for ch in str(text):
        if ch.isspace():
            chars.append(" ")
        elif unicodedata.category(ch) not in _UNSAFE_CATEGORIES:
            chars.append(ch)
    line = " ".join("".join(chars).split())
    if len(line) > limit:
        return line[: max(0, limit - 1)].rstrip() + "…"
    return line
