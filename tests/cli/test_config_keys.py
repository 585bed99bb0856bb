"""`config validate` (and its alias `check`) reports malformed `[keys]` entries, without Textual."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from .helpers import cli

BAD_KEYS = """
[keys]
generate = "ctrl+"
help = "ctrl++g"
quit = ""
"history.trash" = 5
nonsense = "x"
focus_jobs = "f7"
"""


def test_validate_reports_each_bad_key_with_its_id_and_a_fix(tmp_path: Path) -> None:
    path = tmp_path / "keys.toml"
    path.write_text(BAD_KEYS)
    for action in ("validate", "check"):
        res = cli("config", action, str(path))
        assert res.returncode == 2, res.stdout
        lines = res.stderr.splitlines()
        for binding_id in ("generate", "help", "quit", "history.trash", "nonsense"):
            assert any(f"keys.{binding_id}:" in line for line in lines), (binding_id, lines)
        assert not any("focus_jobs" in line for line in lines)
        assert "Traceback" not in res.stderr


def test_the_key_check_imports_no_textual(tmp_path: Path) -> None:
    path = tmp_path / "keys.toml"
    path.write_text(BAD_KEYS)
    code = (
        "import sys\n"
        "from imagen_tui.tui.cli import main\n"
        f"rc = main(['config', 'validate', {str(path)!r}])\n"
        "assert rc == 2, rc\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'textual'))\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "[]"
