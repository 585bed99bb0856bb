"""`imagen_tui.backends` passes `mypy --strict` (the `[tool.mypy]` section of pyproject.toml).

mypy cannot see setuptools' package-dir mapping (`imagen_tui.backends` is the folder
`backends/`), so the folder is linked under its installed name in `.mypy_cache/src`, which the
config's `mypy_path` names. The check runs `mypy.api.run` in a child process: the in-process API
has no timeout, and a child can be stopped. Its cache is `.mypy_cache` (gitignored), so a
second run only re-checks what changed.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "pyproject.toml"
CACHE = ROOT / ".mypy_cache"
TREE = CACHE / "src"
LINKED = ".mypy_cache/src/imagen_tui/backends"
TIMEOUT_S = 300  # measured on 2 cores: ~16 s with an empty cache, ~2.5 s warm

RUN_MYPY = """
import sys
from mypy import api

out, err, status = api.run(sys.argv[1:])
sys.stdout.write(out)
sys.stderr.write(err)
sys.exit(status)
"""


def link_tree() -> Path:
    """`TREE/imagen_tui/backends` → `ROOT/backends` (made once, repaired if it points elsewhere,
    e.g. after the checkout moved)."""
    link = TREE / "imagen_tui" / "backends"
    target = ROOT / "backends"
    if link.is_symlink() and link.resolve() == target.resolve():
        return link
    link.parent.mkdir(parents=True, exist_ok=True)
    if link.is_symlink():
        link.unlink()
    link.symlink_to(target, target_is_directory=True)
    return link


def run_mypy() -> subprocess.CompletedProcess[str]:
    """mypy with the project config (strict, `packages`, `mypy_path`) from the repo root."""
    link_tree()
    env = {k: v for k, v in os.environ.items() if k != "MYPYPATH"}
    args = ["--config-file", str(CONFIG), "--cache-dir", str(CACHE), "--no-color-output"]
    return subprocess.run(
        [sys.executable, "-c", RUN_MYPY, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )


def test_backends_pass_mypy_strict() -> None:
    if importlib.util.find_spec("mypy") is None:  # a missing checker must fail, not skip
        pytest.fail("mypy is not installed: it is in the [test] extra, pip install -e '.[test]'")
    try:
        res = run_mypy()
    except subprocess.TimeoutExpired:
        pytest.fail(f"mypy took over {TIMEOUT_S} s on imagen_tui.backends")
    # Errors name the linked path; show the one in the checkout.
    report = (res.stdout + res.stderr).strip().replace(f"{LINKED}/", "backends/")
    assert res.returncode == 0, f"mypy --strict on imagen_tui.backends:\n{report}"
    modules = len(list((ROOT / "backends").rglob("*.py")))
    assert report == f"Success: no issues found in {modules} source files", report
