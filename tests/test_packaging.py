"""Every subpackage and data file on disk reaches the wheel, under the imagen_tui root only."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = {
    "backends": "imagen_tui/backends",
    "tui": "imagen_tui/tui",
    "themes": "imagen_tui/themes",
}
SHIPPED = {".py", ".tcss", ".toml", ".md"}


def expected_files() -> set[str]:
    wanted = set()
    for folder, target in FOLDERS.items():
        for path in (ROOT / folder).rglob("*"):
            if path.is_file() and path.suffix in SHIPPED and "__pycache__" not in path.parts:
                wanted.add(f"{target}/{path.relative_to(ROOT / folder).as_posix()}")
    return wanted


def test_wheel_holds_every_module_and_data_file(tmp_path: Path) -> None:
    res = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "--quiet", "-w", str(tmp_path), str(ROOT)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    (wheel,) = tmp_path.glob("imagen_tui-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = expected_files() - names
    assert not missing, f"not in the wheel: {sorted(missing)}"
    tops = {n.split("/")[0] for n in names if not n.startswith("imagen_tui-")}
    assert tops == {"imagen_tui"}, tops
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "imagen-tui = imagen_tui.tui.cli:entry" in text
    assert "mock = imagen_tui.backends.adapters.mock:MockBackend" in text
