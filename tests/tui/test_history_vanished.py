"""The history list over images deleted outside imagen-tui while no workbench watched: the
store's count still holds them, its pages leave them out; the list must not keep rows for them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from imagen_tui.backends import Engine, GenerationRequest
from imagen_tui.tui.row_pages import RowPages
from tests.tui.test_workbench_engine import hlist, real_app
from tests.tui.workbench_helpers import drive, settle, wait_for


def make_images(cfg: Path, count: int) -> list[Path]:
    """`count` small mock images, oldest first, made through the engine as --once does."""
    engine = Engine.open(cfg)
    made = []
    for i in range(count):
        request = GenerationRequest(prompt=f"image {i}", seed=i, width=64, height=64)
        made += [Path(job.output_path or "") for job in engine.run_inline(engine.prepare(request))]
    engine.history.close()
    return made


def shown(pilot: Pilot[Any]) -> list[str | None]:
    lst = hlist(pilot)
    return [getattr(lst.pages.row(i), "prompt", None) for i in range(lst.count)]


def test_deleted_images_leave_no_empty_rows_at_the_end(tmp_path: Path) -> None:
    app, _ = real_app(tmp_path)
    made = make_images(tmp_path / "config.toml", 5)
    made[3].unlink()
    made[1].unlink()

    async def steps(pilot: Pilot[Any]) -> None:
        await wait_for(pilot, lambda: hlist(pilot).loaded)
        assert shown(pilot) == ["image 4", "image 2", "image 0"]
        await pilot.press("f4", "G")
        await settle(pilot)
        assert hlist(pilot).cursor == 2
        assert hlist(pilot).current_row().prompt == "image 0"

    drive(app, steps)


def test_the_count_shrinks_when_a_later_page_finds_the_end_short(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(RowPages.__init__, "__defaults__", (2, 32))  # pages of 2 rows
    app, _ = real_app(tmp_path)
    made = make_images(tmp_path / "config.toml", 5)
    made[0].unlink()  # the oldest: on the last page, fetched after the count was taken

    async def steps(pilot: Pilot[Any]) -> None:
        await wait_for(pilot, lambda: hlist(pilot).loaded)
        await pilot.press("f4", "G")
        await wait_for(pilot, lambda: hlist(pilot).count == 4)
        assert shown(pilot) == ["image 4", "image 3", "image 2", "image 1"]
        assert hlist(pilot).cursor == 3
        assert hlist(pilot).current_row().prompt == "image 1"

    drive(app, steps)


def test_row_pages_know_their_total_only_with_the_last_page_in_memory() -> None:
    pages: RowPages[str] = RowPages(page_size=2, max_pages=1)
    pages.store(0, ["a", "b"], ("cursor", 1))
    assert pages.total() is None
    pages.store(1, ["c"], None)
    assert pages.total() == 3
    pages.store(0, ["a", "b"], ("cursor", 1))  # evicts the last page (max_pages=1)
    assert pages.total() is None


def test_an_image_deleted_in_another_pane_leaves_the_list_without_a_key(tmp_path: Path) -> None:
    app, _ = real_app(tmp_path)
    made = make_images(tmp_path / "config.toml", 3)

    async def steps(pilot: Pilot[Any]) -> None:
        await wait_for(pilot, lambda: shown(pilot) == ["image 2", "image 1", "image 0"])
        made[1].unlink()  # `rm` in another pane, while the workbench watches
        await wait_for(pilot, lambda: shown(pilot) == ["image 2", "image 0"], tries=250)

    drive(app, steps)
