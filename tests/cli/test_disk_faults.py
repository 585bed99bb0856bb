"""Fault injection: a full disk and a read-only file system under the output dir (issue:
hardening). Real mounts (a 64 KiB tmpfs; a read-only tmpfs), so root only; skipped otherwise."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from .helpers import TIMEOUT_S

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or sys.platform != "linux",
    reason="mounting a tmpfs needs root on Linux (CI runs as root)",
)


@pytest.fixture
def mount_point(tmp_path: Path) -> Iterator[Path]:
    point = tmp_path / "mnt"
    point.mkdir()
    yield point
    subprocess.run(["umount", "-l", str(point)], capture_output=True, timeout=30)


def mount(point: Path, options: str) -> None:
    res = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(point)],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    if res.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {res.stderr.strip()}")


def once(out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "imagen_tui.tui.cli", "--once", "a red fox", "--size", "512x512",
         "--output", str(out), "--no-preview", *extra],
        capture_output=True, text=True, timeout=TIMEOUT_S,
    )  # fmt: skip


def history_paths() -> set[str]:
    res = subprocess.run(
        [sys.executable, "-m", "imagen_tui.tui.cli", "history", "--json", "--limit", "100"],
        capture_output=True, text=True, timeout=TIMEOUT_S,
    )  # fmt: skip
    return {json.loads(line)["path"] for line in res.stdout.splitlines()}


def files_under(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def test_a_full_disk_leaves_nothing_half_written_and_says_so(mount_point: Path) -> None:
    mount(mount_point, "size=64k")
    (mount_point / "filler").write_bytes(b"\0" * 40_000)  # room for a sidecar, not an image
    res = once(mount_point / "out")
    assert res.returncode == 1, res.stderr
    (line,) = res.stderr.splitlines()
    assert "Traceback" not in res.stderr
    assert "no space left" in line and str(mount_point / "out") in line
    images = [p for p in files_under(mount_point) if p.suffix in (".png", ".json")]
    assert images == []  # image and sidecar land together or not at all
    assert [p for p in files_under(mount_point) if p.name.endswith(".part")] == []
    assert history_paths() == set()


def test_a_read_only_output_dir_is_one_line_naming_it(mount_point: Path) -> None:
    mount(mount_point, "size=1m,ro")
    res = once(mount_point / "out")
    assert res.returncode == 1, res.stderr
    (line,) = res.stderr.splitlines()
    assert "Traceback" not in res.stderr
    assert str(mount_point / "out") in line and "--output" in line
    assert history_paths() == set()


def test_a_full_state_dir_is_one_line_before_anything_is_made(
    mount_point: Path, tmp_path: Path
) -> None:
    """With no room for the job log nothing can be tracked: refuse before making anything."""
    mount(mount_point, "size=64k")
    env = {**os.environ, "XDG_STATE_HOME": str(mount_point)}
    (mount_point / "filler").write_bytes(b"\0" * 60_000)
    out = tmp_path / "out"
    res = subprocess.run(
        [sys.executable, "-m", "imagen_tui.tui.cli", "--once", "kept fox", "--size", "64x64",
         "--output", str(out), "--no-preview"],
        capture_output=True, text=True, timeout=TIMEOUT_S, env=env,
    )  # fmt: skip
    assert res.returncode == 1, res.stderr
    (line,) = res.stderr.splitlines()
    assert "no space left" in line and str(mount_point) in line
    assert not out.exists() or files_under(out) == []
