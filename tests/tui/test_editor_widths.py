"""Every option field of the editor shows its value at 80, 120, 160 and 200 columns."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rich.text import Text
from textual.pilot import Pilot

from imagen_tui.tui.widgets.choice import Choice, fit_choice
from imagen_tui.tui.widgets.prompt_editor import PromptEditor
from tests.tui.workbench_helpers import drive, make_app, settle

MIN_INPUT_CELLS = {"seed": 5}  # the seed shares its cell with the lock; an Input scrolls
MIN_CELLS = 8  # room to see a WxH or a count while typing it


def shown(choice: Choice) -> str:
    return choice.render_line(0).text


@pytest.mark.parametrize("width", [80, 100, 120, 160, 200])
def test_every_option_field_shows_its_value(tmp_path: Path, width: int) -> None:
    app, _ = make_app(tmp_path, images=1)

    async def steps(pilot: Pilot[Any]) -> None:
        editor = app.screen.query_one(PromptEditor)
        size = app.screen.query_one("#size", Choice)
        for value in [*size.values, size.values[0]]:  # every preset, then Custom (WxH shown)
            size.value = value
            await settle(pilot)
            assert value in shown(size), (width, shown(size))
        size.value = "custom"
        await settle(pilot)
        for choice in editor.query(Choice):
            label = next(str(lbl) for lbl, v in choice._options if v == choice.value)
            assert label in shown(choice), (width, choice.id, shown(choice))
            assert choice.region.height == 1
        for field in editor.query("#fields Input"):
            least = MIN_INPUT_CELLS.get(str(field.id), MIN_CELLS)
            assert field.display and field.region.width >= least, (width, field.id)

    drive(app, steps, size=(width, 40))


def test_a_label_too_long_for_its_cell_is_cut_never_blank() -> None:
    assert fit_choice(Text("1024x1024"), 15).plain == " ‹ 1024x1024 › "
    assert fit_choice(Text("1024x1024"), 11).plain == "‹1024x1024›"
    cut = fit_choice(Text("1024x1024"), 8).plain
    assert cut.startswith("‹10") and cut.endswith("…›") and len(cut) == 8
