"""The metadata of the selected image: prompt, negative, backend, model, seed, steps, size, cost…

Values come from the store's `history.metadata(path)` (sidecar first, else embedded chunks, already
display-ready) and are drawn as `rich.text.Text` through `safe()`, so neither markup nor control
characters from a file can reach the terminal.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.text import Text
from textual.widgets import Static

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
    return safe(value)


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


class MetadataPanel(Static):
    """Shows `metadata_text` for the selected image."""

    def show(self, meta: dict[str, Any] | None, problem: str | None = None) -> None:
        self.update(metadata_text(meta, problem), layout=False)
