"""The engine never imports Textual; the headless path imports neither Textual nor httpx."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def backend_modules() -> list[str]:
    names = []
    for path in sorted((ROOT / "backends").rglob("*.py")):
        rel = path.relative_to(ROOT / "backends").with_suffix("")
        parts = [p for p in rel.parts if p != "__init__"]
        names.append(".".join(["imagen_tui", "backends", *parts]))
    return names


def run_python(code: str) -> dict:
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout.strip().splitlines()[-1])


def test_no_backend_module_imports_textual() -> None:
    modules = backend_modules()
    assert "imagen_tui.backends.engine" in modules and len(modules) > 10
    code = (
        "import importlib, json, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('textual', 'textual_image', 'rich'))))"
    )
    assert run_python(code) == []


def test_headless_mock_run_imports_neither_textual_nor_httpx(tmp_path: Path) -> None:
    code = (
        "import contextlib, io, json, sys\n"
        "from imagen_tui.tui.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    rc = main(['--once', 'x', '--size', '64x64', '--output', {str(tmp_path)!r}])\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('textual', 'textual_image', 'httpx', 'rich'))\n"
        "print(json.dumps({'rc': rc, 'heavy': heavy}))"
    )
    assert run_python(code) == {"rc": 0, "heavy": []}
    assert list(tmp_path.rglob("*.png"))


def test_tui_talks_to_the_engine_only_through_its_public_api() -> None:
    """`tui/` imports `imagen_tui.backends` and nothing deeper, and never pydantic itself."""
    import ast

    offenders = []
    for path in sorted((ROOT / "tui").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            for name in names:
                deep = name.startswith("imagen_tui.backends.")
                if deep or name.split(".")[0] in ("pydantic", "pydantic_core"):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} {name}")
    assert offenders == []


def test_public_api_names_all_resolve() -> None:
    import imagen_tui.backends as api

    missing = [name for name in api.__all__ if getattr(api, name, None) is None]
    assert missing == []
