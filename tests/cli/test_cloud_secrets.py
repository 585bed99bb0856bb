"""The gemini and xai keys never land in a file, an output, a log line or a tmux command."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from imagen_tui.backends.models import GenerationRequest, JobState
from tests.cli.helpers import cli
from tests.fakes.gemini import FakeGemini
from tests.fakes.server import FakeServer, running
from tests.fakes.xai import FakeXai
from tests.protocol.cloud_harness import engine_for, run
from tests.unit.test_tmux import Server, needs_tmux, server, wait_for

__all__ = ["server"]  # the fixture, imported for the tests below

GEMINI_KEY = "AIzaSy-gemini-secret-4242"
XAI_KEY = "xai-secret-key-9191"
WRONG_KEY = "wrong-secret-key-5353"

Scripted = Callable[[FakeServer, str], None]


def gemini_fake(server: FakeServer, key: str) -> None:
    fake = FakeGemini(server, key=key)
    fake.then(fake.image(text="Here it is."))


def xai_fake(server: FakeServer, key: str) -> None:
    fake = FakeXai(server, key=key)
    fake.then(fake.image(revised="A fox, revised."))


CASES = [
    ("gemini", "GEMINI_API_KEY", GEMINI_KEY, gemini_fake),
    ("xai", "XAI_API_KEY", XAI_KEY, xai_fake),
]


def everything(roots: list[Path]) -> list[Path]:
    return [p for root in roots for p in root.rglob("*") if p.is_file()]


@needs_tmux
@pytest.mark.parametrize(("type_name", "var", "key", "script"), CASES, ids=["gemini", "xai"])
def test_key_never_reaches_files_outputs_errors_or_tmux(
    server: Server,
    tmp_path: Path,
    isolated_env: dict[str, Path],
    type_name: str,
    var: str,
    key: str,
    script: Scripted,
) -> None:
    cfg = isolated_env["config"] / "imagen-tui" / "config.toml"
    cfg.parent.mkdir(parents=True)
    out_dir = tmp_path / "images"
    with running() as fake:
        script(fake, key)
        cfg.write_text(f'[backends.cloud]\ntype = "{type_name}"\nbase_url = "{fake.url}/v1"\n')
        env = {**server.env, var: key}
        ok = cli("--once", "a fox", "--backend", "cloud", "--preview", "--json",
                 "--output", str(out_dir), env=env)  # fmt: skip
        assert ok.returncode == 0, ok.stderr
        bad = cli("--once", "a fox", "--backend", "cloud", "--output", str(out_dir),
                  env={var: WRONG_KEY})  # fmt: skip
        assert bad.returncode == 1 and "auth_failed" in bad.stderr, bad.stderr
        listed = cli("backends", "cloud", env=env)
        sent = [r.headers for r in fake.requests if r.method == "POST"]
    assert len(sent) == 2  # the key went where it belongs, and only there
    window = wait_for(lambda: next((w for w in server.windows() if w[1].startswith("img:")), None))
    command = server.run("list-panes", "-t", window[0], "-F", "#{pane_start_command}")
    outputs = [ok.stdout, ok.stderr, bad.stdout, bad.stderr, listed.stdout, listed.stderr, command]
    for text in outputs:
        assert key not in text and WRONG_KEY not in text
    assert var in listed.stdout  # the variable's name is fine to show
    files = everything([*isolated_env.values(), out_dir])
    assert any(p.suffix in (".png", ".jpg") for p in files)
    assert any(p.name.startswith("index.sqlite3") for p in files)
    for path in files:
        data = path.read_bytes()
        assert key.encode() not in data and WRONG_KEY.encode() not in data, path
    for db in (p for p in files if p.suffix == ".sqlite3"):
        with sqlite3.connect(db) as conn:
            dump = "\n".join(conn.iterdump())
        assert key not in dump and WRONG_KEY not in dump, db


@pytest.mark.parametrize(("type_name", "var", "key", "script"), CASES, ids=["gemini", "xai"])
def test_key_never_reaches_a_log_line(
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    type_name: str,
    var: str,
    key: str,
    script: Scripted,
) -> None:
    caplog.set_level(logging.DEBUG)
    with running() as fake:
        script(fake, "another-key")  # every call fails: errors and retries get logged too
        rig = engine_for(tmp_path, type_name, {"base_url": fake.url + "/v1"}, env={var: key})
        out = asyncio.run(run(rig, GenerationRequest(prompt="a fox")))
    assert out.job.state == JobState.FAILED and key not in (out.job.error_message or "")
    assert caplog.records  # httpx logs every request at INFO
    for record in caplog.records:
        assert key not in record.getMessage()
