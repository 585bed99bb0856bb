"""`rerun` of another tool's image whose recipe holds values outside our bounds."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, PngImagePlugin

from .helpers import cli


def foreign_png(path: Path, settings: str) -> Path:
    """An A1111-style PNG whose `parameters` chunk ends with `settings`."""
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", f"a quiet harbour\n{settings}")
    Image.new("RGB", (8, 8)).save(path, pnginfo=info)
    return path


def test_a_recipes_out_of_range_seed_and_steps_are_dropped_with_a_note(tmp_path: Path) -> None:
    png = foreign_png(tmp_path / "a.png", "Steps: 99999999999999999999, Seed: -5, Sampler: x")
    done = cli("rerun", str(png))
    assert done.returncode == 0, done.stderr
    notes = [line for line in done.stderr.splitlines() if "dropped" in line]
    assert len(notes) == 2 and all("recipe" in line for line in notes)
    assert "--seed" not in done.stderr and "--steps" not in done.stderr
    assert Path(done.stdout.strip()).is_file()


def test_a_seed_the_user_gives_out_of_range_is_still_refused(tmp_path: Path) -> None:
    png = foreign_png(tmp_path / "a.png", "Steps: 20, Seed: 1, Sampler: x")
    done = cli("rerun", str(png), "--seed", "4294967296")
    assert done.returncode == 2 and "--seed" in done.stderr
