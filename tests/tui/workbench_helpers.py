"""Running the workbench under Pilot against `FakeEngine` (halfcell renderer, no file watching)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from imagen_tui.tui.app import WorkbenchApp
from tests.tui.fake_engine import FakeEngine

SIZE = (120, 36)
LONG_RUNNING = {"poll", "watch"}


def make_app(
    tmp_path: Path, images: int = 0, *, engine: FakeEngine | None = None, **kw: Any
) -> tuple[WorkbenchApp, FakeEngine]:
    """An app over a fake engine whose history holds `images` small PNGs."""
    folder = tmp_path / "images"
    folder.mkdir(exist_ok=True)
    engine = engine or FakeEngine(folder)
    for i in range(images):
        engine.history.add(f"image {i} prompt", colour=(i * 7 % 255, 90, 200))
    kw.setdefault("env", {})
    app = WorkbenchApp(
        engine,
        renderer="halfcell",
        state_folder=tmp_path / "state",
        user_theme_folder=tmp_path / "themes",
        watch=False,
        poll_interval=0.2,
        **kw,
    )
    return app, engine


async def settle(pilot: Pilot[Any]) -> None:
    """Wait for every short-lived worker (not the poller) and a refresh."""
    for _ in range(50):
        busy = [w for w in pilot.app.workers if not w.is_finished and w.group not in LONG_RUNNING]
        if not busy:
            break
        await asyncio.gather(*(w.wait() for w in busy), return_exceptions=True)
    await pilot.pause()


async def wait_for(pilot: Pilot[Any], condition: Callable[[], bool], tries: int = 100) -> None:
    """Pause until `condition()` holds (bounded: `tries` × 20 ms); fail the test otherwise."""
    for _ in range(tries):
        await settle(pilot)
        if condition():
            return
        await pilot.pause(0.02)
    raise AssertionError("condition not reached")


def drive(
    app: WorkbenchApp,
    steps: Callable[[Pilot[Any]], Awaitable[None]],
    size: tuple[int, int] = SIZE,
) -> None:
    """Run `steps` against `app` in a headless terminal of `size`."""

    async def main() -> None:
        async with app.run_test(size=size, tooltips=False, notifications=True) as pilot:
            await wait_for(pilot, lambda: app.started)
            await settle(pilot)
            await steps(pilot)

    asyncio.run(main())


def notes(app: WorkbenchApp) -> list[str]:
    """Messages of the notifications shown so far."""
    return [n.message for n in app._notifications]


async def type_text(pilot: Pilot[Any], text: str) -> None:
    await pilot.press(*("space" if c == " " else c for c in text))
