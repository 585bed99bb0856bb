"""Text from images, sidecars and providers made safe to draw, and short forms of it.

Every string that did not come from our own code goes through `safe()` before it reaches a widget:
control characters and bidi overrides become visible (via the engine's `visible`), and the result
is one line. Widgets get `rich.text.Text` or plain segments, never markup, so `[` cannot crash them.
"""

from __future__ import annotations

import re
import unicodedata

try:
    from imagen_tui.backends import visible
except ImportError:  # TEMP until the Engine API lands on main

    def visible(text: str) -> str:
        return "".join(
            f"\\x{ord(c):02x}" if unicodedata.category(c) in ("Cc", "Cf") else c for c in text
        )


def safe(text: object) -> str:
    """`text` as one drawable line: control chars shown, newlines and tabs as spaces."""
    if text is None:
        return ""
    flat = " ".join(str(text).replace("\t", " ").splitlines())
    return visible(flat)


def excerpt(text: object, width: int) -> str:
    """`safe(text)` cut to `width` cells with an ellipsis."""
    line = safe(text)
    if width <= 0:
        return ""
    return line if len(line) <= width else line[: max(0, width - 1)] + "…"


_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def slug(text: object, max_len: int = 40) -> str:
    """Lower-case ASCII `[a-z0-9-]` name for a tmux window, at most `max_len` chars, never empty.

    Same rule as the engine's file-name slugs (NFKD, ASCII, runs of other characters → `-`,
    cut at a word boundary), so `img:<slug>` matches what `--once --preview` opens.
    """
    ascii_text = unicodedata.normalize("NFKD", str(text or ""))
    ascii_text = ascii_text.encode("ascii", "ignore").decode("ascii").lower()
    core = _NOT_SLUG.sub("-", ascii_text).strip("-")
    if len(core) > max_len:
        head = core[:max_len]
        cut = head.rfind("-")
        if core[max_len] != "-" and cut >= max_len // 2:
            head = head[:cut]
        core = head.rstrip("-")
    return core or "image"
