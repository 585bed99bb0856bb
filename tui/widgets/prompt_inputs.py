"""The editor's text inputs: the prompt TextArea (with history recall) and a safe Input.

Pasted or loaded text shows control characters as visible stand-ins (`␛`, `<U+202E>`), never
live: a prompt recalled from a sidecar must not retitle the pane or clear the screen.
"""

from __future__ import annotations

from typing import Any

from textual import events
from textual.widgets import Input, TextArea

from imagen_tui.backends import visible
from imagen_tui.tui.ui_state import PromptHistory


class SafeInput(Input):
    """An Input whose pasted or loaded text shows control characters as stand-ins."""

    def _on_paste(self, event: events.Paste) -> None:
        event.text = visible(event.text)
        super()._on_paste(event)

    def set_text(self, text: str) -> None:
        self.value = visible(text)

    def action_paste(self) -> None:
        """ctrl+v (the app's own clipboard, e.g. a prompt copied with `y`): cleaned as a paste."""
        start, end = self.selection
        self.replace(visible(self.app.clipboard), start, end)


class PromptArea(TextArea):
    """The prompt TextArea: ↑ on the first line / ↓ on the last walk the prompt history."""

    def __init__(self, history: PromptHistory, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.prompt_history = history

    def load_text(self, text: str) -> None:
        """Replace the text; control characters arrive as visible stand-ins (␛), never live."""
        super().load_text(visible(text, multiline=True))

    async def _on_paste(self, event: events.Paste) -> None:
        # Only clean the text: Textual then runs TextArea's own paste handler with it (calling
        # it here as well inserted every paste twice).
        event.text = visible(event.text, multiline=True)

    def action_paste(self) -> None:
        """ctrl+v (the app's own clipboard): control characters as stand-ins, as a paste."""
        if result := self._replace_via_keyboard(
            visible(self.app.clipboard, multiline=True), *self.selection
        ):
            self.move_cursor(result.end_location)

    async def _on_key(self, event: events.Key) -> None:
        row = self.cursor_location[0]
        if event.key == "up" and row == 0:
            recalled = self.prompt_history.older(self.text)
        elif event.key == "down" and row == self.document.line_count - 1:
            recalled = self.prompt_history.newer()
        else:
            if event.is_printable or event.key in ("backspace", "delete", "enter"):
                self.prompt_history.reset()
            await super()._on_key(event)
            return
        if recalled is not None:
            event.stop()
            event.prevent_default()
            self.load_text(recalled)
            self.move_cursor(self.document.end)
