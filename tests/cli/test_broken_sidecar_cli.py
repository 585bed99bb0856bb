"""`history --reindex` lists an image whose sidecar is broken, and says it was read without it."""

from __future__ import annotations

import json
from pathlib import Path

from .helpers import cli


def test_reindex_lists_images_with_broken_sidecars() -> None:
    made = cli("--once", "a lantern", "--size", "64x64")
    assert made.returncode == 0, made.stderr
    image = Path(made.stdout.strip())
    image.with_suffix(".json").write_bytes(b"[" * 100_000 + b"]" * 100_000)
    res = cli("history", "--reindex", "--json")
    assert res.returncode == 0, res.stderr
    assert "1 with an unreadable sidecar: listed from the image itself" in res.stderr
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    assert [row["path"] for row in rows] == [str(image)]
    assert "Traceback" not in res.stderr
