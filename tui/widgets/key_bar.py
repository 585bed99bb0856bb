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
        text = Text(no_wrap=True, overflow="ellipsis")
        seen: set[str] = set()
        key_style = self.app.get_css_variables().get("footer-key-foreground", "")
        for _node, binding, enabled, _tooltip in self.screen.active_bindings.values():
            if not binding.show or binding.action in seen or not enabled:
                continue
            seen.add(binding.action)
            text.append(f" {self.app.get_key_display(binding)} ", style=f"bold {key_style}")
            text.append(binding.description + " ")
        self.update(text, layout=False)
