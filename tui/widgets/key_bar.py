"""A one-line footer of the keys that work where the focus is, drawn as a single Text.

Textual's `Footer` recomposes one widget per key on every focus change; with ~20 keys that cost
0.3-0.7 s per `f2`/`f3`/`f4` here (measured 2026-11-30 under Pilot, 2 vCPU). This bar keeps the
same source (`screen.active_bindings`, updated through `bindings_updated_signal`, as Footer does in
Textual 8.2.8 `widgets/_footer.py`) and redraws one line.
"""

from __future__ import annotations

from rich.text import Text
from textual.screen import Screen
from textual.widgets import Static


class KeyBar(Static):
    """Shown bindings of the focus chain: `key Description` pairs, then the palette key."""

    DEFAULT_CSS = """
    KeyBar { height: 1; background: $footer-background; color: $footer-foreground; }
    """

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self._draw()

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen: Screen[object]) -> None:
        if self.is_attached and screen is self.screen:
            self.call_after_refresh(self._draw)

    def _draw(self) -> None:
        pairs: list[tuple[str, str]] = []
        help_pair: tuple[str, str] | None = None
        seen: set[str] = set()
        for _node, binding, enabled, _tooltip in self.screen.active_bindings.values():
            if not binding.show or binding.action in seen or not enabled:
                continue
            seen.add(binding.action)
            pair = (self.app.get_key_display(binding), binding.description)
            pairs.append(pair)
            if binding.id == "help":
                help_pair = pair
        self.update(self._line(pairs, help_pair, self.size.width or 80), layout=False)

    def _line(
        self, pairs: list[tuple[str, str]], help_pair: tuple[str, str] | None, width: int
    ) -> Text:
        """The pairs in order when they fit in `width` cells; else those that fit, `…` and the
        help key last, so the keys left out are one key away."""
        key_style = f"bold {self.app.get_css_variables().get('footer-key-foreground', '')}"
        tail: list[tuple[str, str]] = []
        more = sum(_cells(p) for p in pairs) > width
        if more:
            tail = [help_pair] if help_pair else []
            room, kept = width - sum(_cells(p) for p in tail) - 2, []
            for pair in (p for p in pairs if p != help_pair):
                if _cells(pair) > room:
                    break
                kept.append(pair)
                room -= _cells(pair)
            pairs = kept
        text = Text(no_wrap=True, overflow="ellipsis")
        for key, description in pairs:
            text.append(f" {key} ", style=key_style)
            text.append(description + " ")
        if more:
            text.append("… ")
        for key, description in tail:
            text.append(f" {key} ", style=key_style)
            text.append(description + " ")
        return text

    def on_resize(self) -> None:
        self._draw()


def _cells(pair: tuple[str, str]) -> int:
    """Cells one `key description` pair takes in the bar."""
    key, description = pair
    return Text(f" {key} {description} ").cell_len
