"""Prompt history and the remembered theme survive a restart; broken files are empty."""

from __future__ import annotations

from pathlib import Path

from imagen_tui.tui.ui_state import PromptHistory, load_theme_choice, save_theme_choice


def test_prompt_history_walk_and_persistence(tmp_path: Path) -> None:
    path = tmp_path / "h.json"
    history = PromptHistory(path, limit=3)
    for prompt in ("one", "two", "one", "three", "four", "  "):
        history.add(prompt)
    assert history.items == ["one", "three", "four"]
    again = PromptHistory(path)
    assert again.items == ["one", "three", "four"]
    assert again.older("draft") == "four"
    assert again.older("four") == "three"
    assert again.older("three") == "one"
    assert again.older("one") is None
    assert again.newer() == "three"
    assert again.newer() == "four"
    assert again.newer() == "draft"
    assert again.newer() is None


def test_broken_history_file_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "h.json"
    path.write_text("{not json")
    assert PromptHistory(path).items == []
    assert PromptHistory(path).older("x") is None


def test_theme_choice(tmp_path: Path) -> None:
    assert load_theme_choice(tmp_path) is None
    save_theme_choice("imagen-light", tmp_path)
    assert load_theme_choice(tmp_path) == "imagen-light"
    (tmp_path / "workbench.json").write_text("[]")
    assert load_theme_choice(tmp_path) is None
