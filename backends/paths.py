"""XDG locations. One function per directory, so tests can point them elsewhere via env."""

from __future__ import annotations

import os
from pathlib import Path

APP = "imagen-tui"


def _xdg(var: str, fallback: str) -> Path:
    value = os.environ.get(var)
    base = Path(value) if value and os.path.isabs(value) else Path.home() / fallback
    return base / APP


def config_dir() -> Path:
    return _xdg("XDG_CONFIG_HOME", ".config")


def state_dir() -> Path:
    return _xdg("XDG_STATE_HOME", ".local/state")


def cache_dir() -> Path:
    return _xdg("XDG_CACHE_HOME", ".cache")


def data_dir() -> Path:
    return _xdg("XDG_DATA_HOME", ".local/share")


def default_config_path() -> Path:
    return config_dir() / "config.toml"


def default_output_dir() -> Path:
    return data_dir() / "images"


def index_path() -> Path:
    return state_dir() / "index.sqlite3"


def thumbs_dir() -> Path:
    return cache_dir() / "thumbs"


def joblog_path() -> Path:
    return state_dir() / "jobs.sqlite3"


def library_path() -> Path:
    return state_dir() / "library.json"
