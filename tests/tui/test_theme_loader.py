"""Bundled and user themes from TOML; broken files become one problem line each."""

from __future__ import annotations

from pathlib import Path

from imagen_tui.tui.theme_loader import bundled_themes, load_themes, parse_theme

GOOD = (
    'name = "mine"\nprimary = "#123456"\ndark = false\n'
    '[variables]\nfooter-key-foreground = "#ff0000"\n'
)


def test_at_least_three_bundled_themes_one_light() -> None:
    found = bundled_themes()
    assert found.problems == []
    assert len(found.themes) >= 3
    assert any(not t.dark for t in found.themes)
    assert "imagen-dark" in found.names()


def test_parse_theme_reads_colours_and_variables() -> None:
    theme = parse_theme(GOOD, "mine.toml")
    assert (theme.name, theme.primary, theme.dark) == ("mine", "#123456", False)
    assert theme.variables == {"footer-key-foreground": "#ff0000"}


def test_user_theme_added_and_broken_ones_reported(tmp_path: Path) -> None:
    (tmp_path / "mine.toml").write_text(GOOD)
    (tmp_path / "broken.toml").write_text("name = 'x'\nprimary = \n")
    (tmp_path / "badcolour.toml").write_text('name = "y"\nprimary = "not-a-colour"\n')
    (tmp_path / "unknown.toml").write_text('name = "z"\nprimary = "#000"\nshade = "#111"\n')
    (tmp_path / "notes.txt").write_text("ignored")
    found = load_themes(tmp_path)
    assert "mine" in found.names() and "imagen-dark" in found.names()
    assert len(found.problems) == 3
    joined = "\n".join(found.problems)
    assert "broken.toml: not valid TOML" in joined
    assert "badcolour.toml: primary = 'not-a-colour' is not a colour" in joined
    assert "unknown.toml: unknown key 'shade'" in joined


def test_user_theme_replaces_a_bundled_one_of_its_name(tmp_path: Path) -> None:
    (tmp_path / "dark.toml").write_text('name = "imagen-dark"\nprimary = "#00ff00"\n')
    found = load_themes(tmp_path)
    mine = [t for t in found.themes if t.name == "imagen-dark"]
    assert [t.primary for t in mine] == ["#00ff00"]


def test_missing_user_folder_is_empty(tmp_path: Path) -> None:
    found = load_themes(tmp_path / "nope")
    assert found.problems == [] and len(found.themes) >= 3
