"""The full-screen viewer (`imagen-tui view`), driven by Pilot with the halfcell renderer forced."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from PIL import Image
from textual.pilot import Pilot
from textual.widgets import Static

from imagen_tui.tui import viewer
from imagen_tui.tui.viewer import ViewerApp
from imagen_tui.tui.widgets.image_preview import ImagePreview

DATA = Path(__file__).parent / "data"
SIZE = (100, 30)


def make_images(folder: Path, count: int = 3) -> list[Path]:
    """`count` small PNGs named img-1.png… with sidecars whose prompts contain markup brackets."""
    paths = []
    for i in range(1, count + 1):
        path = folder / f"img-{i}.png"
        Image.new("RGB", (40, 30), (60 * i, 90, 200)).save(path)
        meta = {"prompt": f"prompt {i} [bracket] [/]", "backend": "mock", "seed": i}
        meta["cost_usd"] = 0.5
        path.with_suffix(".json").write_text(json.dumps(meta))
        paths.append(path)
    return paths


def drive(app: ViewerApp, steps: Callable[[Pilot[None]], Awaitable[None]]) -> None:
    """Run `steps` against `app` in a headless 100x30 terminal."""

    async def main() -> None:
        async with app.run_test(size=SIZE, tooltips=False, notifications=False) as pilot:
            await settle(pilot)
            await steps(pilot)

    asyncio.run(main())


async def settle(pilot: Pilot[None]) -> None:
    """Wait until the image has been decoded and drawn (a superseded load ends cancelled)."""
    while running := [w for w in pilot.app.workers if not w.is_finished]:
        await asyncio.gather(*(w.wait() for w in running), return_exceptions=True)
    await pilot.pause()


def text_of(app: ViewerApp, selector: str) -> str:
    return str(app.query_one(selector, Static).content)


def test_next_and_previous_wrap_around(tmp_path: Path) -> None:
    paths = make_images(tmp_path)
    app = ViewerApp(paths[0], renderer="halfcell")
    seen: list[tuple[str, str]] = []

    async def steps(pilot: Pilot[None]) -> None:
        for key in ("n", "right", "l", "p", "left", "h"):
            await pilot.press(key)
            await settle(pilot)
            seen.append((app.current.name, app.title))

    drive(app, steps)
    assert seen == [
        ("img-2.png", "img-2.png (2/3)"),
        ("img-3.png", "img-3.png (3/3)"),
        ("img-1.png", "img-1.png (1/3)"),  # wraps forward
        ("img-3.png", "img-3.png (3/3)"),  # wraps backward
        ("img-2.png", "img-2.png (2/3)"),
        ("img-1.png", "img-1.png (1/3)"),
    ]


def test_the_image_fills_the_screen(tmp_path: Path) -> None:
    square = tmp_path / "square.png"
    Image.new("RGB", (1024, 1024), (10, 200, 30)).save(square)
    app = ViewerApp(square, renderer="halfcell")

    async def steps(pilot: Pilot[None]) -> None:
        widget = app.query_one("#image", ImagePreview)
        stage = app.query_one("#stage")
        assert widget.size == stage.size  # it was sized to its "no image" notice: 18x1
        rows = [
            y for y in range(widget.size.height)
            if any(seg.style and seg.style.bgcolor for seg in widget.render_line(y))
        ]  # fmt: skip
        assert len(rows) == widget.size.height  # a square image is as tall as the box

    drive(app, steps)


def test_image_is_shown_in_the_preview_component(tmp_path: Path) -> None:
    big = tmp_path / "big.png"
    Image.new("RGB", (3000, 2000), (10, 200, 30)).save(big)
    app = ViewerApp(big, renderer="halfcell")

    async def steps(pilot: Pilot[None]) -> None:
        widget = app.query_one("#image", ImagePreview)
        assert widget.effective_renderer == "halfcell"
        assert 0 < widget.size.width <= SIZE[0] and 0 < widget.size.height <= SIZE[1]
        shown = "".join(
            seg.style.bgcolor.name if seg.style and seg.style.bgcolor else ""
            for y in range(widget.size.height)
            for seg in widget.render_line(y)
        )
        assert "#0ac81e" in shown  # the image's green, drawn as half-cell blocks

    drive(app, steps)
    assert app.title == "big.png (1/1)"


def test_metadata_panel_toggles_and_keeps_brackets(tmp_path: Path) -> None:
    paths = make_images(tmp_path)
    app = ViewerApp(paths[1], renderer="halfcell")

    async def steps(pilot: Pilot[None]) -> None:
        meta = app.query_one("#meta")
        assert not meta.display
        await pilot.press("m")
        assert meta.display
        body = text_of(app, "#meta-body")
        assert "prompt: prompt 2 [bracket] [/]" in body
        assert "backend: mock" in body and "seed: 2" in body and "cost: $0.5000" in body
        assert "model: —" in body
        await pilot.press("n")
        assert "prompt 3 [bracket]" in text_of(app, "#meta-body")
        await pilot.press("m")
        assert not meta.display

    drive(app, steps)


def test_missing_sidecar_is_reported(tmp_path: Path) -> None:
    path = make_images(tmp_path, count=1)[0]
    path.with_suffix(".json").unlink()
    app = ViewerApp(path, renderer="halfcell")

    async def steps(pilot: Pilot[None]) -> None:
        await pilot.press("m")
        assert text_of(app, "#meta-body") == "No metadata: img-1.json not found."

    drive(app, steps)


def test_broken_sidecar_is_reported(tmp_path: Path) -> None:
    path = make_images(tmp_path, count=1)[0]
    path.with_suffix(".json").write_text("{not json")
    text = str(viewer.metadata_text(path))
    assert text.startswith("sidecar unreadable: img-1.json: not valid JSON")
    assert "size: " in text  # the image's own facts are still shown


def test_a_sidecar_nested_too_deeply_is_reported_not_a_crash(tmp_path: Path) -> None:
    path = make_images(tmp_path, count=1)[0]
    path.with_suffix(".json").write_text("[" * 100_000 + "]" * 100_000)
    text = str(viewer.metadata_text(path))
    assert text.startswith("sidecar unreadable: img-1.json: JSON nested too deeply")


@pytest.mark.parametrize("content", [b"not a png at all", None], ids=["garbage", "missing"])
def test_unreadable_image_shows_error(tmp_path: Path, content: bytes | None) -> None:
    paths = make_images(tmp_path, count=2)
    bad = tmp_path / "bad.png"
    if content is not None:
        bad.write_bytes(content)
    app = ViewerApp(bad, renderer="halfcell", siblings=[bad, *paths])

    async def steps(pilot: Pilot[None]) -> None:
        preview = app.query_one("#image", ImagePreview)
        assert preview._notice.startswith("cannot show image: ")  # noqa: SLF001
        assert "\n" not in preview._notice  # noqa: SLF001
        await pilot.press("n")  # still alive, and the next good image replaces the error
        await settle(pilot)
        assert preview._picture is not None  # noqa: SLF001

    drive(app, steps)


def test_renderer_off_shows_a_notice(tmp_path: Path) -> None:
    path = make_images(tmp_path, count=1)[0]
    app = ViewerApp(path, renderer="off")

    async def steps(pilot: Pilot[None]) -> None:
        preview = app.query_one("#image", ImagePreview)
        assert preview.effective_renderer == "off"
        assert preview._notice == "preview off"  # noqa: SLF001

    drive(app, steps)


def test_quit_keys(tmp_path: Path) -> None:
    path = make_images(tmp_path, count=1)[0]
    for key in ("q", "escape"):
        app = ViewerApp(path, renderer="halfcell")

        async def steps(pilot: Pilot[None], key: str = key) -> None:
            await pilot.press(key)
            await pilot.pause()

        drive(app, steps)
        assert app.return_code == 0  # None when the app was still running at teardown


def test_siblings_skip_hidden_partial_and_other_files(tmp_path: Path) -> None:
    paths = make_images(tmp_path)
    for name in (".hidden.png", "x.png.part", "notes.txt", "b.JPG"):
        (tmp_path / name).write_bytes(b"")
    assert viewer.image_siblings(paths[0]) == [tmp_path / "b.JPG", *paths]
    app = ViewerApp(paths[2])
    assert app.index == 3 and len(app.images) == 4


def test_image_outside_siblings_is_added_first(tmp_path: Path) -> None:
    paths = make_images(tmp_path)
    app = ViewerApp(paths[0], siblings=paths[1:])
    assert app.images == paths and app.current == paths[0]


def test_unknown_renderer_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown renderer"):
        ViewerApp(tmp_path / "a.png", renderer="ascii")


def test_bindings_have_ids_and_descriptions() -> None:
    ids = {b.id: b.description for b in ViewerApp.BINDINGS if not isinstance(b, tuple)}
    assert set(ids) == {"viewer.next", "viewer.previous", "viewer.metadata", "viewer.quit"}
    assert all(ids.values())


def test_run_viewer_missing_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.png"
    assert viewer.run_viewer(missing) == 2
    assert capsys.readouterr().err == f"imagen-tui view: no such image: {missing}\n"


def test_snapshot(snap_compare: Callable[..., bool]) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)

    app = ViewerApp(DATA / "1-dawn.png", renderer="halfcell")
    assert snap_compare(app, press=["m"], terminal_size=(80, 24), run_before=run_before)


def test_next_and_previous_follow_the_history_including_new_images(tmp_path: Path) -> None:
    from imagen_tui.backends import Engine, GenerationRequest

    def make(prompt: str) -> Path:
        async def run() -> Path:
            engine = Engine.open()
            await engine.start()
            (job,) = await engine.run(GenerationRequest(prompt=prompt, width=64, height=64))
            await engine.aclose()
            engine.history.close()
            return Path(job.output_path)

        return asyncio.run(run())

    first, second = make("first \x1b]0;pwned\x07 one"), make("second")
    app = ViewerApp(first, renderer="halfcell")

    async def steps(pilot: Pilot[None]) -> None:
        assert "\x1b" not in text_of(app, "#meta-body")  # shown as a visible stand-in
        assert "␛]0;pwned␇" in text_of(app, "#meta-body")
        third = await asyncio.to_thread(make, "third, made after the viewer opened")
        await pilot.press("p")  # newer
        assert app.current == second
        await pilot.press("p")
        assert app.current == third
        assert "made after the viewer opened" in text_of(app, "#meta-body")
        await pilot.press("n", "n")  # older again
        assert app.current == first
        # the folder's "(i/N)" would be wrong here: it stayed at the first image's place
        assert app.title == first.name  # the slug has no control characters

    drive(app, steps)
