"""The prompt editor: backends with readiness, disabled fields, sizes, cost, seed lock, recall."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Checkbox, Input

from imagen_tui.tui.widgets.choice import Choice
from imagen_tui.tui.widgets.prompt_editor import PromptEditor
from tests.tui.workbench_helpers import drive, make_app, settle, type_text, wait_for


def editor_of(pilot: Pilot[Any]) -> PromptEditor:
    return pilot.app.screen.query_one(PromptEditor)


def problem(pilot: Pilot[Any], name: str) -> str:
    widget = pilot.app.screen.query_one(f"#problem-{name}")
    return str(widget.content) if widget.display else ""


def test_unready_backend_disables_fields_with_reasons_and_blocks_sending(tmp_path: Path) -> None:
    app, engine = make_app(tmp_path)

    async def steps(pilot: Pilot[Any]) -> None:
        editor = editor_of(pilot)
        await type_text(pilot, "fox")
        app.screen.query_one("#backend", Choice).value = "cloud"
        await wait_for(pilot, lambda: "no API key" in problem(pilot, "backend"))
        assert app.screen.query_one("#negative", Input).disabled
        assert problem(pilot, "negative") == "cloud cannot use negative"
        sizes = app.screen.query_one("#size", Choice).values
        assert sizes[-3:] == ["1024x1024", "1536x1024", "custom"]
        await pilot.press("ctrl+g")
        await settle(pilot)
        assert engine.submitted == []
        app.screen.query_one("#backend", Choice).value = "mock"
        await wait_for(pilot, lambda: problem(pilot, "backend") == "")
        assert not app.screen.query_one("#negative", Input).disabled
        assert "Estimate: $0.0000 for 1 image" in str(app.screen.query_one("#cost").content)
        assert editor.problems == []

    drive(app, steps)


def test_custom_size_is_validated_inline(tmp_path: Path) -> None:
    app, engine = make_app(tmp_path)

    async def steps(pilot: Pilot[Any]) -> None:
        await type_text(pilot, "fox")
        app.screen.query_one("#size", Choice).value = "custom"
        await settle(pilot)
        custom = app.screen.query_one("#custom_size", Input)
        assert not custom.disabled
        custom.value = "10x5000"
        await wait_for(pilot, lambda: "64-4096" in problem(pilot, "custom"))
        await pilot.press("ctrl+g")
        await settle(pilot)
        assert engine.submitted == []
        custom.value = "640x480"
        await wait_for(pilot, lambda: problem(pilot, "custom") == "")
        await pilot.press("ctrl+g")
        await settle(pilot)
        assert [(r.width, r.height) for r in engine.submitted] == [(640, 480)]

    drive(app, steps)


def test_seed_lock_keeps_the_used_seed_and_unlocked_clears_it(tmp_path: Path) -> None:
    app, engine = make_app(tmp_path)

    async def steps(pilot: Pilot[Any]) -> None:
        seed = app.screen.query_one("#seed", Input)
        await type_text(pilot, "fox")
        app.screen.query_one("#seed_lock", Checkbox).value = True
        await pilot.press("ctrl+g")
        await settle(pilot)
        (job,) = engine.local.values()
        assert seed.value == str(job.seed)
        await pilot.press("ctrl+g")
        await settle(pilot)
        assert engine.submitted[-1].seed == job.seed
        app.screen.query_one("#seed_lock", Checkbox).value = False
        await pilot.press("ctrl+g")
        await settle(pilot)
        assert seed.value == ""

    drive(app, steps)


def test_prompt_history_recall_with_up_and_down_persists(tmp_path: Path) -> None:
    app, _ = make_app(tmp_path)

    async def steps(pilot: Pilot[Any]) -> None:
        prompt = app.screen.query_one("#prompt")
        for text in ("first", "second"):
            prompt.load_text(text)
            await pilot.press("ctrl+g")
            await settle(pilot)
        prompt.load_text("draft")
        prompt.move_cursor((0, 0))
        await pilot.press("up")
        assert prompt.text == "second"
        await pilot.press("up")
        assert prompt.text == "first"
        await pilot.press("down", "down")
        assert prompt.text == "draft"

    drive(app, steps)
    again, _ = make_app(tmp_path)
    assert again.prompt_history.items == ["first", "second"]


def test_copy_as_command_is_shell_quoted(tmp_path: Path) -> None:
    app, _ = make_app(tmp_path)
    nasty = "it's a $(fox); `x`"

    async def steps(pilot: Pilot[Any]) -> None:
        app.screen.query_one("#prompt").load_text(nasty)
        app.screen.query_one("#seed", Input).value = "42"
        await settle(pilot)
        await pilot.press("ctrl+y")
        await settle(pilot)

    drive(app, steps)
    argv = shlex.split(app.clipboard)
    assert argv == ["imagen-tui", f"--once={nasty}", "--size=1024x1024", "--seed=42"]
