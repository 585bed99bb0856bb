"""A key read from the env var named in the config never lands anywhere else."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from .helpers import cli, write_plugin

SECRET = "good-key-123"


def test_key_never_reaches_sidecar_index_png_output_or_errors(
    tmp_path: Path, isolated_env: dict[str, Path]
) -> None:
    plugins = write_plugin(tmp_path / "plugins")
    cfg = isolated_env["config"] / "imagen-tui" / "config.toml"
    cfg.parent.mkdir(parents=True)
    cfg.write_text('[backends.cloud]\ntype = "keyed"\napi_key_env = "CLOUD_KEY"\n')
    env = {"PYTHONPATH": str(plugins), "CLOUD_KEY": SECRET}
    ok = cli("--once", "fox", "--backend", "cloud", "--json", env=env)
    assert ok.returncode == 0, ok.stderr
    bad = cli("--once", "fox", "--backend", "cloud", env={**env, "CLOUD_KEY": "wrong-key-999"})
    assert bad.returncode == 1 and "auth_failed" in bad.stderr
    listed = cli("backends", "cloud", env=env)
    for text in (ok.stdout, ok.stderr, bad.stdout, bad.stderr, listed.stdout, listed.stderr):
        assert SECRET not in text and "wrong-key-999" not in text
    assert "CLOUD_KEY" in listed.stdout  # the variable's name is fine to show
    everything = [p for root in isolated_env.values() for p in root.rglob("*") if p.is_file()]
    assert any(p.suffix == ".png" for p in everything)
    assert any(p.name.startswith("index.sqlite3") for p in everything)
    for path in everything:
        data = path.read_bytes()
        assert SECRET.encode() not in data, path
        assert b"wrong-key-999" not in data, path
    db = next(p for p in everything if p.name == "index.sqlite3")
    with sqlite3.connect(db) as conn:
        dump = "\n".join(conn.iterdump())
    assert SECRET not in dump
