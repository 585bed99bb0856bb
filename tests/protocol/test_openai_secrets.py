"""An OpenAI key or a ChatGPT login token never lands in a sidecar, a PNG chunk, the index, the
job log, a log line, an error message or a tmux command line, whether the job works or fails."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest

from imagen_tui.backends.models import GenerationRequest, JobState
from imagen_tui.tui.tmux import open_image_window
from tests.fakes.openai import FakeOpenAI
from tests.fakes.openai_responses import FakeResponses
from tests.fakes.server import FakeServer

from .engine_harness import Run, files_under, make_engine, run_job
from .test_openai_responses import ACCOUNT, write_auth

KEY = "sk-proj-SECRET-key-4f1d9c2a77"
TOKEN = "eyJhbGciOi-SECRET-login-token-93be"
SECRETS = (KEY, TOKEN, "rt_x")


def _run(tmp_path: Path, toml: str, env: dict[str, str]) -> Run:
    engine = make_engine(tmp_path, toml, env, retries=1)
    request = GenerationRequest(prompt="a red fox", backend="x")
    return asyncio.run(run_job(engine, request))


def _scenarios(server: FakeServer, tmp_path: Path) -> list[tuple[str, dict[str, str]]]:
    """(config, env) of every way a secret is used: key for both types, a ChatGPT login."""
    images = FakeOpenAI(server, KEY, script=("ok", "bad_request"))
    FakeResponses(server, key=KEY, token=TOKEN, account=ACCOUNT)
    home = tmp_path / "codex-home"
    write_auth(home, token=TOKEN)
    key_env = {"OPENAI_API_KEY": KEY}
    return [
        (f'[backends.x]\ntype = "openai"\nbase_url = "{images.base_url}"\n', key_env),
        (f'[backends.x]\ntype = "openai"\nbase_url = "{images.base_url}"\n', key_env),
        (f'[backends.x]\ntype = "openai-responses"\nbase_url = "{server.url}/v1"\n', key_env),
        (
            f'[backends.x]\ntype = "openai-responses"\nauth = "codex"\ncodex_home = "{home}"\n'
            f'base_url = "{server.url}/backend-api/codex"\n',
            {},
        ),
    ]


def test_secrets_never_leave_the_request(
    tmp_path: Path, fake_server: FakeServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # httpx, httpcore and our own loggers, at their chattiest
    runs: list[Run] = []
    for index, (toml, env) in enumerate(_scenarios(fake_server, tmp_path)):
        runs.append(_run(tmp_path / f"run{index}", toml, env))
    bad_key = _run(
        tmp_path / "bad",
        _scenarios(fake_server, tmp_path)[0][0],
        {"OPENAI_API_KEY": KEY + "-wrong"},
    )
    states = [r.job.state for r in runs] + [bad_key.job.state]
    assert states == [JobState.DONE, JobState.FAILED, JobState.DONE, JobState.DONE, JobState.FAILED]
    assert bad_key.job.error_code == "auth_failed"
    texts = [caplog.text]
    for one in [*runs, bad_key]:
        texts += [one.job.error_message or "", repr(one.job)]
        texts += [repr(e) for e in one.events]
    outputs = [Path(r.job.output_path) for r in runs if r.job.output_path]
    assert len(outputs) == 3
    texts += [" ".join(argv) for argv in _tmux_command_lines(outputs[0])]
    for text in texts:
        for secret in SECRETS:
            assert secret not in text
    written = [p for p in files_under(tmp_path) if "codex-home" not in p.parts]
    assert any(p.suffix == ".png" for p in written) and any(p.suffix == ".json" for p in written)
    assert any(p.name == "jobs.sqlite3" for p in written)
    for path in written:
        data = path.read_bytes()
        for secret in SECRETS:
            assert secret.encode() not in data, path
    for db in [p for p in written if p.suffix == ".sqlite3"]:
        with sqlite3.connect(db) as conn:
            dump = "\n".join(conn.iterdump())
        assert all(secret not in dump for secret in SECRETS), db


def _tmux_command_lines(image: Path) -> list[list[str]]:
    """Every argv `open_image_window` runs for `image`, with a recording stand-in for tmux."""
    seen: list[list[str]] = []
    answers = {"display": "$1 @1\n", "list-windows": "", "new-window": "@2\n"}

    def runner(argv: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        seen.append(list(argv))
        return subprocess.CompletedProcess(argv, 0, answers.get(argv[1], ""), "")

    env = {"TMUX": "/tmp/tmux-1/default,1,0", "TMUX_PANE": "%1", "OPENAI_API_KEY": KEY}
    result = open_image_window(image, "a-red-fox", env=env, runner=runner)
    assert result.ok, result.error
    return seen
