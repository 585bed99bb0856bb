"""The metadata of the selected image: prompt, negative, backend, model, seed, steps, size, cost…

Values come from the store's `history.metadata(path)` (sidecar first, else embedded chunks, already
display-ready) and are drawn as `rich.text.Text` through `safe()`, so neither markup nor control
characters from a file can reach the terminal.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.text import Text
from textual.content import Content
from textual.geometry import Region
from textual.strip import Strip
from textual.visual import Visual
from textual.widget import Widget

from imagen_tui.tui.text import safe

FIELDS = (
    ("prompt", "prompt"),
    ("negative", "negative"),
    ("backend", "backend"),
    ("model", "model"),
    ("seed", "seed"),
    ("steps", "steps"),
    ("size", "size"),
    ("cost", "cost_usd"),
    ("duration", "latency_s"),
    ("created", "created_at"),
    ("file", "path"),
)


def _value(meta: dict[str, Any], key: str) -> Any:
    if key == "size" and meta.get("size") is None and meta.get("width"):
        return f"{meta.get('width')}x{meta.get('height')}"
    value = meta.get(key)
    if value is None and key == "cost_usd":
        value = meta.get("cost")
    if value is None and key == "latency_s":
        value = meta.get("duration")
    return value


def _format(key: str, value: Any) -> str:
    if value is None or value == "":
        return "—"
    if key == "cost_usd" and isinstance(value, int | float):
        return f"${value:.4f}"
    if key == "latency_s" and isinstance(value, int | float):
        return f"{value:.1f}s"
    if key == "path":
        return safe(Path(str(value)).name)
    if key == "created_at":
        return safe(_when(value))
    return safe(value)


def _when(value: Any) -> Any:
    """A sidecar's `created_at` (ISO 8601 text or epoch seconds) as local "YYYY-MM-DD HH:MM:SS";
    anything else as it is."""
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            when = datetime.fromtimestamp(value)
        elif isinstance(value, str):
            when = datetime.fromisoformat(value)
            when = when.astimezone() if when.tzinfo else when
        else:
            return value
    except (ValueError, OverflowError, OSError):
        return value
    return when.strftime("%Y-%m-%d %H:%M:%S")


def metadata_text(meta: dict[str, Any] | None, problem: str | None = None) -> Text:
    """The panel's text for a metadata dict; `problem` (e.g. an unreadable sidecar) goes first."""
    text = Text()
    if problem:
        text.append(safe(problem) + "\n", style="italic")
    if not meta:
        if not problem:
            text.append("No image selected.", style="italic")
        return text
    for label, key in FIELDS:
        text.append(f"{label}: ", style="bold")
        text.append(_format(key, _value(meta, key)) + "\n")
    text.rstrip()
    return text


class MetadataPanel(Widget):
    """Shows `metadata_text` for the selected image.

    Laying text out is the dearest part of a history move (~5 ms for 20 lines here, more than
    the picture), so the drawn lines of recently shown images are kept (per size, style and
    text selection): moving back to one draws nothing new. `content` is the shown `Text`.
    """

    DEFAULT_CSS = "MetadataPanel { height: auto; }"
    KEPT = 64  # drawn panels kept (a few KB each)

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:  # noqa: A002 (Textual's signature)
        super().__init__(id=id, classes=classes)
        self.content: Text = metadata_text(None)
        self._source: tuple[Any, str | None] = (None, None)
        self._drawn: OrderedDict[tuple[Any, ...], tuple[Any, list[Strip]]] = OrderedDict()
        self._shown: list[Strip] | None = None  # the lines last drawn, for partial redraws

    def show(self, meta: dict[str, Any] | None, problem: str | None = None) -> None:
        """Show `meta` (a dict from the store, or None) with `problem` first, if any.

        Only the lines that differ from those on screen are redrawn (two images' panels mostly
        share their labels and settings): each redrawn line costs Textual ~0.2 ms here.
        """
        self._source = (meta, problem)
        self.content = metadata_text(meta, problem)
        width, height = self.size
        shown = self._shown
        if shown is None or not width:
            self.refresh()
            return
        lines = self._lines()
        changed = [
            Region(0, y, width, 1)
            for y in range(height)
            if (shown[y] if y < len(shown) else None) != (lines[y] if y < len(lines) else None)
        ]
        if changed:
            self.refresh(*changed)

    def render(self) -> Content:
        return Content.from_rich_text(self.content)

    def render_line(self, y: int) -> Strip:
        lines = self._shown = self._lines()
        if y < len(lines):
            return lines[y]
        return Strip.blank(self.size.width, self.visual_style.rich_style)

    def _lines(self) -> list[Strip]:
        """Every line of the panel at its size: kept ones, or laid out now."""
        width, height = self.size
        meta, problem = self._source
        style = self.visual_style
        key = (id(meta), problem, width, height, style, self.text_selection)
        kept = self._drawn.get(key)
        if kept is not None and kept[0] is meta:
            self._drawn.move_to_end(key)
            return kept[1]
        strips = Visual.to_strips(self, self.render(), width, height, style)
        self._drawn[key] = (meta, strips)  # keeps `meta` alive, so its id is not reused
        while len(self._drawn) > self.KEPT:
            self._drawn.popitem(last=False)
        return strips
