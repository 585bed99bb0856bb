"""A one-line chooser: shows the current option; ←/→ (or space, enter) cycle through the others.

Textual's `Select` mounts an overlay with an OptionList and costs ~165 ms of start-up per instance
(10 compact Selects: 1.86 s to the first frame vs 0.18 s for 10 Labels, measured 2026-11-30
under `run_test`, textual 8.2.8); the editor has three. A choice among a handful of backends,
sizes or styles needs no overlay.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.widget import Widget


class Choice(Widget, can_focus=True):
    """`options` is a list of (label, value); `value` is the chosen value ("" when empty)."""

    DEFAULT_CSS = """
    Choice { height: 1; width: 1fr; background: $boost; color: $text; }
    Choice:focus { background: $block-cursor-background; color: $block-cursor-foreground; }
    Choice:disabled { color: $text-disabled; }
    """
    BINDINGS = [
        Binding("right,space,enter", "step(1)", "Next option", show=False, id="choice.next"),
        Binding("left", "step(-1)", "Previous option", show=False, id="choice.previous"),
    ]

    class Changed(Message):
        """The value changed (by key or by assignment)."""

        def __init__(self, choice: Choice, value: str) -> None:
            super().__init__()
            self.choice = choice
            self.value = value

        @property
        def control(self) -> Choice:
            return self.choice

    def __init__(
        self,
        options: Sequence[tuple[str | Text, str]],
        *,
        value: str | None = None,
        id: str | None = None,  # noqa: A002 (Textual's signature)
    ) -> None:
        super().__init__(id=id)
        self._options: list[tuple[str | Text, str]] = list(options)
        self._value = value if value is not None else self._first()

    def _first(self) -> str:
        return self._options[0][1] if self._options else ""

    @property
    def values(self) -> list[str]:
        return [v for _, v in self._options]

    @property
    def value(self) -> str:
        return self._value

    @value.setter
    def value(self, new: str) -> None:
        if new not in self.values:
            raise ValueError(f"{new!r} is not one of {self.values}")
        if new != self._value:
            self._value = new
            self.refresh()
            self.post_message(self.Changed(self, new))

    def set_options(self, options: Sequence[tuple[str | Text, str]]) -> None:
        """Replace the options, keeping the value if it is still offered."""
        self._options = list(options)
        self.value = self._value if self._value in self.values else self._first()
        self.refresh()

    def action_step(self, delta: int) -> None:
        if self._options:
            index = (self.values.index(self._value) + delta) % len(self._options)
            self.value = self._options[index][1]

    def render(self) -> Any:
        label = next((lbl for lbl, v in self._options if v == self._value), "—")
        return fit_choice(label if isinstance(label, Text) else Text(str(label)), self.size.width)


def fit_choice(label: Text, width: int) -> Text:
    """` ‹ label › ` in `width` cells on one line: the arrows lose their padding first, then the
    label is cut with "…" (a wrapped label left the row blank: only its first line showed)."""
    for left, right in ((" ‹ ", " › "), ("‹", "›")):
        if label.cell_len + len(left) + len(right) <= width:
            return Text.assemble(left, label, right, no_wrap=True)
    room = max(1, width - 2)
    cut = label.copy()
    cut.truncate(room, overflow="ellipsis")
    return Text.assemble("‹", cut, "›", no_wrap=True, overflow="ellipsis")
