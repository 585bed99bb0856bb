"""Changing the history's view (F favourites, t trash, closing a search) keeps the selected
image when the new view holds it, so the next `d`/`f`/`o` acts on the image the user chose."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from imagen_tui.tui.widgets.history_list import HistoryList
from tests.tui.workbench_helpers import drive, make_app, notes, settle, type_text, wait_for


def hlist(pilot: Pilot[Any]) -> HistoryList:
    return pilot.app.screen.query_one(HistoryList)


def test_favourites_filter_off_returns_to_the_selected_image(tmp_path: Path) -> None:
    app, engine = make_app(tmp_path, images=250)

    async def steps(pilot: Pilot[Any]) -> None:
        await pilot.press("f4")
        await wait_for(pilot, lambda: hlist(pilot).count == 250)
        hlist(pilot).move_to(150)  # on the second keyset page
        await wait_for(pilot, lambda: hlist(pilot).current_row() is not None)
        chosen = hlist(pilot).current_row().id
        await pilot.press("f")
        await wait_for(pilot, lambda: hlist(pilot).current_row().favourite)
        await pilot.press("F")
        await wait_for(pilot, lambda: hlist(pilot).count == 1)
        assert hlist(pilot).current_row().id == chosen
        await pilot.press("F")
        await wait_for(pilot, lambda: hlist(pilot).count == 250)
        assert hlist(pilot).cursor == 150
        assert hlist(pilot).current_row().id == chosen
        await pilot.press("d")  # acts on the chosen image, not on the newest one
        await wait_for(pilot, lambda: hlist(pilot).count == 249)
        assert [r.id for r in engine.history.rows if r.trashed] == [chosen]

    drive(app, steps)


def test_a_view_without_the_selected_image_starts_at_the_top(tmp_path: Path) -> None:
    app, engine = make_app(tmp_path, images=30)
    engine.history.rows[0].trashed = True  # the oldest image, at the bottom of the list

    async def steps(pilot: Pilot[Any]) -> None:
        await pilot.press("f4", "j", "j")
        await settle(pilot)
        await pilot.press("t")
        await wait_for(pilot, lambda: hlist(pilot).count == 1)
        assert hlist(pilot).cursor == 0
        assert hlist(pilot).current_row().trashed

    drive(app, steps)


def test_closing_a_search_keeps_the_image_found(tmp_path: Path) -> None:
    app, _ = make_app(tmp_path, images=30)

    async def steps(pilot: Pilot[Any]) -> None:
        await pilot.press("f4", "slash")
        await type_text(pilot, "image 3 ")
        await pilot.press("enter")
        await wait_for(pilot, lambda: hlist(pilot).count == 1)
        found = hlist(pilot).current_row().id
        await pilot.press("slash", "escape")
        await wait_for(pilot, lambda: hlist(pilot).count == 30)
        assert hlist(pilot).current_row().id == found
        assert hlist(pilot).cursor == 26  # newest first: image 29 … image 3

    drive(app, steps)


def test_an_image_deleted_outside_leaves_the_history_when_reached(tmp_path: Path) -> None:
    app, engine = make_app(tmp_path, images=3)
    doomed = Path(engine.history.rows[1].path)

    async def steps(pilot: Pilot[Any]) -> None:
        doomed.unlink()
        await pilot.press("f4", "j")  # onto "image 1"
        await wait_for(pilot, lambda: pilot.app.screen.query_one(HistoryList).count == 2)
        prompts = [r.prompt for r in engine.history.rows]
        assert prompts == ["image 0 prompt", "image 2 prompt"]
        assert any("deleted outside imagen-tui" in n for n in notes(app))

    drive(app, steps)
