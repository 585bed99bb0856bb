"""The preview and the metadata panel keep what they drew for recently shown images, bounded."""

from __future__ import annotations

import asyncio
from typing import Any

from PIL import Image
from textual.app import App, ComposeResult
from textual.visual import Visual

from imagen_tui.tui.widgets import metadata_panel
from imagen_tui.tui.widgets.cell_preview import BuiltStrips, CellPreview, halfcell_strips
from imagen_tui.tui.widgets.metadata_panel import MetadataPanel


def test_built_strips_are_reused_per_image_and_size() -> None:
    built = BuiltStrips(max_cells=10_000)
    red, blue = Image.new("RGB", (8, 8), (200, 0, 0)), Image.new("RGB", (8, 8), (0, 0, 200))
    first = built.get(red, (10, 5))
    assert built.get(blue, (10, 5)) is not first
    assert built.get(red, (10, 5)) is first  # moving back to an image draws nothing new
    resized = built.get(red, (20, 5))
    assert resized is not first and len(resized[0].text) == 20
    assert [s.text for s in first] == [s.text for s in halfcell_strips(red, (10, 5))]
    assert built.cells == 10 * 5 + 20 * 5  # blue, and red at its new size only


def test_built_strips_forget_the_oldest_beyond_their_cell_budget() -> None:
    built = BuiltStrips(max_cells=120)  # room for two 10x5 previews
    images = [Image.new("RGB", (4, 4), (n * 40, 0, 0)) for n in range(3)]
    kept = [built.get(im, (10, 5)) for im in images]
    assert built.cells == 100
    assert built.get(images[2], (10, 5)) is kept[2] and built.get(images[1], (10, 5)) is kept[1]
    assert built.get(images[0], (10, 5)) is not kept[0]  # dropped when the third came
    one_big = BuiltStrips(max_cells=10)
    assert len(one_big.get(images[0], (10, 5))) == 5  # larger than the budget: still shown


class PanelApp(App[None]):
    CSS = "MetadataPanel { width: 40; height: 12; }"

    def compose(self) -> ComposeResult:
        yield MetadataPanel(id="metadata")


def test_metadata_panel_lays_out_each_shown_image_once(monkeypatch: Any) -> None:
    layouts: list[int] = []
    to_strips = Visual.to_strips

    def counting(widget: Any, visual: Any, width: int, *args: Any, **kw: Any) -> Any:
        if isinstance(widget, MetadataPanel):
            layouts.append(width)
        return to_strips(widget, visual, width, *args, **kw)

    monkeypatch.setattr(metadata_panel.Visual, "to_strips", counting)
    fox = {"prompt": "a red fox", "backend": "mock", "seed": 7, "path": "/x/fox.png"}
    owl = {"prompt": "an owl", "backend": "mock", "seed": 8, "path": "/x/owl.png"}

    async def main() -> None:
        app = PanelApp()
        async with app.run_test(size=(60, 20)) as pilot:
            panel = app.query_one(MetadataPanel)
            await pilot.pause()
            layouts.clear()  # the empty panel drawn at start
            drawn = []
            for meta in (fox, owl, fox, owl):
                panel.show(meta)
                await pilot.pause()
                drawn.append([strip.text for strip in panel._lines()])
                assert str(panel.content).startswith(f"prompt: {meta['prompt']}")
            assert drawn[0] == drawn[2] and drawn[1] == drawn[3] and drawn[0] != drawn[1]
            assert "seed: 7" in "".join(drawn[0]) and len(layouts) == 2
            panel.show(dict(fox))  # an equal but new dict (reloaded): laid out again
            await pilot.pause()
            assert len(layouts) == 3
            panel.show(None, "Unreadable sidecar fox.json: bad")
            await pilot.pause()
            assert panel._lines()[0].text.startswith("Unreadable sidecar fox.json: bad")

    asyncio.run(main())


def count_redraws(widget: Any) -> list[int]:
    """The rows `widget` draws from now on (its `render_line` calls, in order)."""
    drawn: list[int] = []
    render_line = widget.render_line

    def counting(y: int) -> Any:
        drawn.append(y)
        return render_line(y)

    widget.render_line = counting
    return drawn


def test_metadata_panel_redraws_only_the_lines_that_changed() -> None:
    fox = {"prompt": "a red fox", "backend": "mock", "seed": 7, "steps": 8, "path": "/x/a.png"}
    twin = dict(fox, seed=8)  # another image with the same settings but its seed

    async def main() -> None:
        app = PanelApp()
        async with app.run_test(size=(60, 20)) as pilot:
            panel = app.query_one(MetadataPanel)
            panel.show(fox)
            await pilot.pause()
            drawn = count_redraws(panel)
            panel.show(twin)
            await pilot.pause()
            seed_line = str(panel.content).splitlines().index("seed: 8")
            assert sorted(set(drawn)) == [seed_line]
            assert panel._lines()[seed_line].text.rstrip() == "seed: 8"

    asyncio.run(main())


def test_halfcell_rows_merge_runs_of_equal_cells() -> None:
    image = Image.new("RGB", (8, 4), (200, 0, 0))
    image.paste((0, 0, 200), (4, 0, 8, 4))  # right half blue
    strips = halfcell_strips(image, (8, 2))
    assert len(strips) == 2
    for strip in strips:
        segments = [s for s in strip if s.text]
        assert [s.text for s in segments] == ["▀" * 4, "▀" * 4]
        colours = [(s.style.color.triplet, s.style.bgcolor.triplet) for s in segments]
        assert colours == [((200, 0, 0), (200, 0, 0)), ((0, 0, 200), (0, 0, 200))]


class PreviewApp(App[None]):
    CSS = "CellPreview { width: 10; height: 6; }"

    def compose(self) -> ComposeResult:
        yield CellPreview("halfcell", id="preview")


def test_a_new_picture_redraws_only_rows_that_differ() -> None:
    """Two wide pictures in a tall box share their blank padding rows: only the picture's row
    is drawn again."""
    red, blue = Image.new("RGB", (8, 2), (200, 0, 0)), Image.new("RGB", (8, 2), (0, 0, 200))

    async def main() -> None:
        app = PreviewApp()
        async with app.run_test(size=(20, 8)) as pilot:
            preview = app.query_one(CellPreview)
            preview.show(red)
            await pilot.pause()
            render_line = preview.render_line
            drawn = count_redraws(preview)
            preview.show(blue)
            await pilot.pause()
            picture_rows = [y for y in range(6) if "▀" in render_line(y).text]
            assert picture_rows == [2] and sorted(set(drawn)) == picture_rows
            assert preview.image is blue
            preview.show(None)  # a notice: everything is drawn again
            await pilot.pause()
            assert sorted(set(drawn)) == list(range(6))

    asyncio.run(main())
