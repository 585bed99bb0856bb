"""Pasting into the prompt: inserted once, control characters as visible stand-ins."""

from __future__ import annotations

import asyncio
from pathlib import Path

from textual import events
from textual.app import App, ComposeResult

from imagen_tui.tui.ui_state import PromptHistory
from imagen_tui.tui.widgets.prompt_inputs import PromptArea


class PasteApp(App[None]):
    def __init__(self, history: Path) -> None:
        super().__init__()
        self.history = history

    def compose(self) -> ComposeResult:
        yield PromptArea(PromptHistory(self.history), id="prompt")


def test_a_paste_is_inserted_once_with_control_characters_visible(tmp_path: Path) -> None:
    async def main() -> str:
        app = PasteApp(tmp_path / "prompts.json")
        async with app.run_test() as pilot:
            prompt = app.query_one(PromptArea)
            prompt.focus()
            app.post_message(events.Paste("a fox \x1b]0;title\x07 in snow\u202e"))
            await pilot.pause()
            return prompt.text

    text = asyncio.run(main())
    assert text == "a fox ␛]0;title␇ in snow<U+202E>"
