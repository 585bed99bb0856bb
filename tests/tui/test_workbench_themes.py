"""Themes: the config's theme applies without being remembered, a pick is remembered, and broken
user themes are reported in one notification with a fallback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from imagen_tui.tui.ui_state import load_theme_choice
from tests.tui.fake_engine import FakeEngine
from tests.tui.workbench_helpers import drive, make_app, notes, settle


def test_config_theme_applies_and_a_pick_is_remembered(tmp_path: Path) -> None:
    folder = tmp_path / "images"
    folder.mkdir()
    app, _ = make_app(tmp_path, engine=FakeEngine(folder, theme="imagen-nocturne"))

    async def steps(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        assert app.theme == "imagen-nocturne"
        assert load_theme_choice(tmp_path / "state") is None
        app.theme = "imagen-light"
        await settle(pilot)
        assert load_theme_choice(tmp_path / "state") == "imagen-light"

    drive(app, steps)
    again, _ = make_app(tmp_path, engine=FakeEngine(tmp_path / "images", theme="imagen-nocturne"))
    assert again.theme == "imagen-light"  # the pick wins over the config


def test_broken_user_themes_one_notification_and_fallback(tmp_path: Path) -> None:
    themes = tmp_path / "themes"
    themes.mkdir()
    (themes / "bad.toml").write_text('name = "bad"\nprimary = "nope"\n')
    (themes / "worse.toml").write_text("[[[")
    (themes / "mine.toml").write_text('name = "mine"\nprimary = "#335577"\n')
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "workbench.json").write_text(json.dumps({"theme": "bad"}))
    app, _ = make_app(tmp_path)

    async def steps(pilot: Pilot[Any]) -> None:
        skipped = [n for n in notes(app) if n.startswith("Theme files skipped")]
        assert len(skipped) == 1 and "bad.toml" in skipped[0] and "worse.toml" in skipped[0]
        assert any("Unknown theme bad" in n for n in notes(app))
        assert app.theme == "imagen-dark" and "mine" in app.available_themes

    drive(app, steps)
