"""Text from images, sidecars and providers made safe to draw, and short forms of it.

Every string that did not come from our own code goes through `safe()` before it reaches a widget:
control characters and bidi overrides become visible (via the engine's `visible`), and the result
is one line. Widgets get `rich.text.Text` or plain segments, never markup, so `[` cannot crash them.
"""

from __future__ import annotations

from imagen_tui.backends import visible


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


def slug(text: object, max_len: int = 40) -> str:
    """The engine's slug of `text` (ASCII `[a-z0-9-]`, never empty): the `img:<slug>` name that
    `--once --preview` also uses, so both faces reuse the same tmux window."""
    from imagen_tui.backends import slugify  # deferred: the store's file naming, not drawing

    return slugify(str(text or ""), max_len)
