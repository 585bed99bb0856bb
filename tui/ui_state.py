"""What the workbench remembers between runs: the chosen theme, the prompt history, and
which one-time hints were given.

Both live in the state directory (`$XDG_STATE_HOME/imagen-tui`, default `~/.local/state/imagen-tui`,
the same rule as the engine's; https://specifications.freedesktop.org/basedir-spec/latest/, read
2026-11-29). Writes are atomic (temp file + rename); an unreadable file is treated as empty.
"""

from __future__ import annotations

import json
import os
from contextlib import suppress
from pathlib import Path
from typing import Any

APP_DIR = "imagen-tui"
PROMPTS_FILE = "prompt-history.json"
UI_FILE = "workbench.json"
MAX_PROMPTS = 500


def _xdg(var: str, fallback: str) -> Path:
    value = os.environ.get(var)
    base = Path(value) if value and os.path.isabs(value) else Path.home() / fallback
    return base / APP_DIR


def state_dir() -> Path:
    """`$XDG_STATE_HOME/imagen-tui`."""
    return _xdg("XDG_STATE_HOME", ".local/state")


def config_dir() -> Path:
    """`$XDG_CONFIG_HOME/imagen-tui` (user themes live in its `themes/`)."""
    return _xdg("XDG_CONFIG_HOME", ".config")


def _read_json(path: Path, default: Any) -> Any:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return default
    return data if isinstance(data, type(default)) else default


def _write_json(path: Path, data: Any) -> None:
    """Atomic write; OSError propagates to the caller, who decides whether it matters."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)


def load_theme_choice(folder: Path | None = None) -> str | None:
    """The theme last picked in the app, or None."""
    value = _read_json((folder or state_dir()) / UI_FILE, {}).get("theme")
    return value if isinstance(value, str) else None


def save_theme_choice(name: str, folder: Path | None = None) -> None:
    """Remember `name` as the theme; OSError if the state dir is not writable."""
    path = (folder or state_dir()) / UI_FILE
    data = _read_json(path, {})
    data["theme"] = name
    _write_json(path, data)


def first_time(topic: str, folder: Path | None = None) -> bool:
    """True the first time `topic` is asked about, then False: for hints said once, ever.

    Remembered in the state dir's `workbench.json` (`said`: a list of topics). An unwritable
    state dir means True every time (the hint is repeated), never an error.
    """
    path = (folder or state_dir()) / UI_FILE
    data = _read_json(path, {})
    said = data.get("said") if isinstance(data.get("said"), list) else []
    if topic in said:
        return False
    data["said"] = [*said, topic]
    with suppress(OSError):
        _write_json(path, data)
    return True


class PromptHistory:
    """Submitted prompts, oldest first, de-duplicated, at most `limit`; walked with a cursor.

    `older(current)` / `newer(current)` return the text to show, or None when there is nothing
    further; walking starts from `current` (the unsent draft is kept and given back at the end).
    """

    def __init__(self, path: Path | None = None, limit: int = MAX_PROMPTS) -> None:
        self.path = path or state_dir() / PROMPTS_FILE
        self.limit = limit
        self.items: list[str] = [
            p for p in _read_json(self.path, []) if isinstance(p, str) and p.strip()
        ]
        self._pos: int | None = None
        self._draft = ""

    def add(self, prompt: str) -> None:
        """Record a submitted prompt and save; a failed save keeps it in memory only."""
        prompt = prompt.strip()
        self._pos = None
        if not prompt:
            return
        self.items = [p for p in self.items if p != prompt][-(self.limit - 1) :] + [prompt]
        with suppress(OSError):  # history is a convenience; generation must not fail over it
            _write_json(self.path, self.items)

    def older(self, current: str) -> str | None:
        if not self.items:
            return None
        if self._pos is None:
            self._draft, self._pos = current, len(self.items)
        if self._pos == 0:
            return None
        self._pos -= 1
        return self.items[self._pos]

    def newer(self) -> str | None:
        if self._pos is None:
            return None
        self._pos += 1
        if self._pos >= len(self.items):
            self._pos = None
            return self._draft
        return self.items[self._pos]

    def reset(self) -> None:
        """Stop walking (the user edited the text)."""
        self._pos = None
