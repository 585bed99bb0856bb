"""`imagen-tui --once` on the `openai` type, through a subprocess, against the fake Images API."""

from __future__ import annotations

import json
from pathlib import Path

from tests.fakes.openai import FakeOpenAI
from tests.fakes.server import running

from .helpers import cli, one_line

KEY = "sk-cli-test-7c1e"


def write_config(isolated_env: dict[str, Path], base_url: str) -> Path:
    cfg = isolated_env["config"] / "imagen-tui" / "config.toml"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text(
        f'default_backend = "oa"\n[backends.oa]\ntype = "openai"\nbase_url = "{base_url}"\n'
        "partial_images = 0\n"
    )
    return cfg


def test_once_makes_an_image_with_options_from_the_command_line(
    tmp_path: Path, isolated_env: dict[str, Path]
) -> None:
    with running() as server:
        fake = FakeOpenAI(server, KEY)
        write_config(isolated_env, fake.base_url)
        res = cli(
            "--once",
            "a red fox",
            "-o",
            "quality=low",
            "--size",
            "1536x1024",
            "--output",
            str(tmp_path),
            "--json",
            env={"OPENAI_API_KEY": KEY},
        )
        (call,) = fake.calls()
    assert res.returncode == 0, res.stderr
    (line,) = res.stdout.splitlines()
    meta = json.loads(line)
    assert Path(meta["path"]).is_file() and meta["backend"] == "oa"
    assert call.json()["quality"] == "low" and call.json()["size"] == "1536x1024"
    assert KEY not in res.stdout + res.stderr


def test_once_failure_is_one_line_and_exit_1(tmp_path: Path, isolated_env: dict[str, Path]) -> None:
    with running() as server:
        fake = FakeOpenAI(server, KEY, script=("safety",))
        write_config(isolated_env, fake.base_url)
        res = cli("--once", "x", "--output", str(tmp_path), env={"OPENAI_API_KEY": KEY})
    assert res.returncode == 1
    line = one_line(res.stderr)
    assert "safety_blocked" in line and "rejected by the safety system" in line


def test_once_size_the_model_cannot_make_is_a_usage_error_naming_sizes(
    tmp_path: Path, isolated_env: dict[str, Path]
) -> None:
    with running() as server:
        fake = FakeOpenAI(server, KEY)
        write_config(isolated_env, fake.base_url)
        res = cli(
            "--once",
            "x",
            "-o",
            "model=gpt-image-1.5",
            "--size",
            "800x600",
            "--output",
            str(tmp_path),
            env={"OPENAI_API_KEY": KEY},
        )
        sent = list(server.requests)
    assert res.returncode == 2 and sent == []
    assert "allowed: 1024x1024, 1536x1024, 1024x1536" in one_line(res.stderr)
