"""History actions on images that lack something: no prompt, a broken sidecar."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from PIL import Image
from textual.pilot import Pilot

from imagen_tui.tui.widgets.history_list import HistoryList
from imagen_tui.tui.widgets.prompt_editor import PromptEditor
from tests.tui.test_workbench_engine import real_app
from tests.tui.workbench_helpers import drive, make_app, notes, settle, type_text, wait_for


def hlist(pilot: Pilot[Any]) -> HistoryList:
    return pilot.app.screen.query_one(HistoryList)


def test_copy_and_re_run_of_an_image_without_a_prompt_say_there_is_nothing(
    tmp_path: Path,
) -> None:
    app, engine = make_app(tmp_path)
    engine.history.add("", steps=30)

    async def steps(pilot: Pilot[Any]) -> None:
        await wait_for(pilot, lambda: hlist(pilot).count == 1)
        await pilot.press("f4", "y")
        await settle(pilot)
        assert not any("Copied" in n for n in notes(app))
        assert any(n.startswith("Nothing to copy: ") for n in notes(app))
        await pilot.press("r", "s")
        await settle(pilot)
        assert engine.submitted == []
        assert sum(n.startswith("Nothing to re-run: ") for n in notes(app)) == 2

    drive(app, steps)


def test_e_loads_the_settings_of_an_image_without_a_prompt(tmp_path: Path) -> None:
    app, engine = make_app(tmp_path)
    row = engine.history.add("", steps=30)

    async def steps(pilot: Pilot[Any]) -> None:
        await wait_for(pilot, lambda: hlist(pilot).count == 1)
        await type_text(pilot, "old words")
        await pilot.press("f4", "e")
        editor = app.screen.query_one(PromptEditor)
        await wait_for(pilot, lambda: editor.values().steps == "30")
        values = editor.values()
        assert values.prompt == "" and values.seed == str(row.seed)
        assert app.focused is app.screen.query_one("#prompt")
        assert any("has no prompt: its settings are loaded" in n for n in notes(app))

    drive(app, steps)


def test_E_adds_an_image_without_a_prompt_as_a_reference_keeping_the_prompt(
    tmp_path: Path,
) -> None:
    app, engine = make_app(tmp_path)
    row = engine.history.add("")

    async def steps(pilot: Pilot[Any]) -> None:
        await wait_for(pilot, lambda: hlist(pilot).count == 1)
        await type_text(pilot, "a fox like this")
        await pilot.press("f4", "E")
        editor = app.screen.query_one(PromptEditor)
        await wait_for(pilot, lambda: editor.values().references != "")
        assert editor.values().references == row.path
        assert editor.values().prompt == "a fox like this"
        assert not any("Cannot re-use" in n for n in notes(app))

    drive(app, steps)


def test_every_image_is_listed_after_a_reindex_and_a_broken_sidecar_says_why(
    tmp_path: Path,
) -> None:
    app, out = real_app(tmp_path)
    sidecars = {
        "bad-json": b"{not json",
        "latin-1": '{"prompt": "caf\xe9"}'.encode("latin-1"),
        "a-list": b"[1]",
        "shapes": json.dumps({"prompt": ["x"], "seed": 5}).encode(),
        "deep": b"[" * 50_000 + b"]" * 50_000,
    }
    for name, data in sidecars.items():
        Image.new("RGB", (32, 32), (40, 90, 200)).save(out / f"{name}.png")
        (out / f"{name}.json").write_bytes(data)

    async def steps(pilot: Pilot[Any]) -> None:
        app.engine.history.reindex(workers=1)  # type: ignore[attr-defined]
        pane = app.screen.query_one("#history")
        pane.store_changed()  # type: ignore[attr-defined]
        await wait_for(pilot, lambda: hlist(pilot).count == len(sidecars))
        await pilot.press("f4")
        seen: dict[str, str] = {}
        for _ in sidecars:
            await wait_for(pilot, lambda: Path(hlist(pilot).current_row().path) in pane._thumbs)
            name = Path(hlist(pilot).current_row().path).stem
            seen[name] = str(app.screen.query_one("#metadata").content)
            assert app.screen.query_one("#preview").image is not None, name
            await pilot.press("j")
        assert set(seen) == set(sidecars)
        for name, meta in seen.items():
            assert meta.startswith("sidecar unreadable: "), (name, meta)
        assert "prompt should be text" in seen["shapes"] and "seed: 5" in seen["shapes"]

    drive(app, steps)


def test_below_100_columns_the_status_line_says_what_the_hidden_panel_would(
    tmp_path: Path,
) -> None:
    app, engine = make_app(tmp_path)

    async def steps(pilot: Pilot[Any]) -> None:
        status = app.screen.query_one("#history-status")
        await wait_for(pilot, lambda: "No images yet" in str(status.content))
        assert not app.screen.query_one("#metadata").display
        row = engine.history.add("a fox")
        Path(row.path).with_suffix(".json").write_text("{oops")
        await wait_for(pilot, lambda: hlist(pilot).count == 1)
        await pilot.press("f4")
        await wait_for(pilot, lambda: "sidecar unreadable: not valid JSON" in str(status.content))

    drive(app, steps, size=(80, 24))
