"""Text from images, sidecars, configs and providers, made safe to show in a terminal.

A prompt may hold `ESC ] 0 ; … BEL` (retitles the pane), `ESC [ 2 J` (clears the screen), NUL,
or bidi overrides (U+202E, which reorders what follows). `visible()` turns every such character
into a visible stand-in, so it is seen, never executed. `--json` output stays exact instead.
"""

from __future__ import annotations

import re

# C0 controls, DEL, C1 controls, and the Unicode format characters that reorder or hide text:
# bidi embeddings/overrides/isolates, LRM/RLM/ALM, zero-width joiners and spaces, BOM,
# line/paragraph separators.
_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb]"
)
_KEEP_MULTILINE = frozenset("\n\t")


def _stand_in(char: str) -> str:
    code = ord(char)
    if code < 0x20:
        return chr(0x2400 + code)  # ␀ … ␟, the Unicode "control pictures"
    if code == 0x7F:
        return "\u2421"  # ␡
    return f"<U+{code:04X}>"


def visible(text: str, *, multiline: bool = False) -> str:
    """`text` with every control and reordering character replaced by a visible stand-in
    (ESC → ␛, NUL → ␀, U+202E → <U+202E>). With `multiline`, newlines and tabs are kept."""

    def swap(match: re.Match[str]) -> str:
        char = match.group()
        return char if multiline and char in _KEEP_MULTILINE else _stand_in(char)

    return _UNSAFE.sub(swap, text)


MAX_DETAIL_CHARS = 300


def one_line(text: object, limit: int | None = MAX_DETAIL_CHARS) -> str:
    """`visible(str(text))` squeezed onto one line (runs of whitespace as one space), cut to
    `limit` characters with "…" (None = no limit)."""
    flat = visible(" ".join(str(text).split()))
    if limit is not None and len(flat) > limit:
        return flat[: max(0, limit - 1)].rstrip() + "…"
    return flat


def not_utf8(text: str) -> str | None:
    """None when `text` is valid Unicode; else a short reason naming the first byte that was
    not UTF-8 ("byte 0xff"). Python keeps such bytes of argv and file names as lone
    surrogates (PEP 383), which no UTF-8 writer (SQLite, JSON, PNG text chunks) accepts."""
    if text.isascii():
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"byte 0x{ord(text[exc.start]) & 0xFF:02x} is not UTF-8"
    return None
