"""Moving through history: a preview seen before is painted in the key's own call stack, and
what the store reports as changed drops only those previews."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from imagen_tui.tui.widgets.history_list import HistoryList
from imagen_tui.tui.widgets.history_pane import HistoryPane
from tests.tui.workbench_helpers import drive, make_app, wait_for


def parts(pilot: Pilot[Any]) -> tuple[HistoryPane, HistoryList]:
    return pilot.app.screen.query_one(HistoryPane), pilot.app.screen.query_one(HistoryList)


async def warm_first_rows(pilot: Pilot[Any], rows: int) -> list[Path]:
    """Visit rows 0..rows-1 (each preview decoded once), then go back to row 0."""
    pane, lst = parts(pilot)
    await pilot.press("f4")
    seen = []
    for n in range(rows):
        if n:
            await pilot.press("j")
        path = Path(lst.current_row().path)
        await wait_for(pilot, lambda path=path: path in pane._thumbs)
        seen.append(path)
    await pilot.press(*["k"] * (rows - 1))
    return seen


def test_a_warm_move_updates_preview_metadata_and_position_without_a_worker(
    tmp_path: Path,
) -> None:
    app, _engine = make_app(tmp_path, images=5)

    async def steps(pilot: Pilot[Any]) -> None:
        pane, lst = parts(pilot)
        first, second = await warm_first_rows(pilot, 2)
        loads: list[Path] = []
        pane._load_preview = lambda path, box: loads.append(path)  # type: ignore[method-assign]
        lst.move_to(1)  # what `j` does; no await: nothing may wait for a message or a worker
        preview = app.screen.query_one("#preview")
        assert preview.image is pane._thumbs[second][0] and preview.image is not None
        assert "prompt: image 3 prompt" in str(app.screen.query_one("#metadata").content)
        assert str(app.screen.query_one("#history-status").content).endswith(" — 2/5")
        lst.move_to(0)
        assert preview.image is pane._thumbs[first][0]
        assert loads == []
        lst.move_to(2)  # never shown: decoded in a worker, the cursor move does not wait
        assert loads == [Path(lst.current_row().path)]

    drive(app, steps)


def test_a_store_change_drops_only_the_changed_previews(tmp_path: Path) -> None:
    app, _engine = make_app(tmp_path, images=4)

    async def steps(pilot: Pilot[Any]) -> None:
        pane, lst = parts(pilot)
        first, second, third = await warm_first_rows(pilot, 3)
        pane.store_changed([str(second)])  # rows from the store carry `path` as a str
        assert first in pane._thumbs and third in pane._thumbs and second not in pane._thumbs
        pane.store_changed()  # unknown changes: forget them all
        assert not pane._thumbs

    drive(app, steps)


def test_the_poller_reports_rows_whose_previews_are_dropped(tmp_path: Path) -> None:
    app, engine = make_app(tmp_path, images=3)

    async def steps(pilot: Pilot[Any]) -> None:
        pane, lst = parts(pilot)
        first, second = await warm_first_rows(pilot, 2)
        kept = pane._thumbs[first]
        row = next(r for r in engine.history.rows if Path(r.path) == second)
        engine.history._touch(row)  # another process changed this image's row
        await wait_for(pilot, lambda: second not in pane._thumbs)
        assert pane._thumbs.get(first) is kept  # not dropped and decoded again

    drive(app, steps)


def test_the_poller_starts_after_what_the_list_loaded(tmp_path: Path) -> None:
    """The change cursor is taken before the first page: the poller does not read the whole
    library again at start-up (and so does not reload the list)."""
    app, engine = make_app(tmp_path, images=25)

    async def steps(pilot: Pilot[Any]) -> None:
        assert app.sync is not None
        assert app.sync.history_cursor == engine.history.version
        assert engine.history.cursor_asked == 1
        assert app.sync.poll_once()[1] == []

    drive(app, steps)
