"""Isolation for every test: private XDG dirs and HOME, no user config, no IMAGEN_* or key env."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SCRUB_PREFIXES = ("IMAGEN_", "OPENAI_", "GEMINI_", "GOOGLE_", "REPLICATE_", "XAI_", "FAL_", "TMUX")


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    for key in list(os.environ):
        if key.startswith(SCRUB_PREFIXES):
            monkeypatch.delenv(key, raising=False)
    dirs = {}
    for var, name in (
        ("HOME", "home"),
        ("XDG_CONFIG_HOME", "config"),
        ("XDG_STATE_HOME", "state"),
        ("XDG_CACHE_HOME", "cache"),
        ("XDG_DATA_HOME", "data"),
    ):
        d = tmp_path / "env" / name
        d.mkdir(parents=True)
        monkeypatch.setenv(var, str(d))
        dirs[name] = d
    monkeypatch.setenv("TEXTUAL_CELL_WIDTH", "10")
    monkeypatch.setenv("TEXTUAL_CELL_HEIGHT", "20")
    return dirs
