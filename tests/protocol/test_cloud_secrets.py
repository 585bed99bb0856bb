"""A Replicate token or fal key never lands in a sidecar, PNG chunk, the index, the job log, a log
line, an error message (even when the provider echoes it) or a tmux command line."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from imagen_tui.backends.models import JobState
from imagen_tui.tui.tmux import open_image_window
from tests.fakes.fal import FakeFal
from tests.fakes.images import image_bytes
from tests.fakes.replicate import FakeReplicate, problem
from tests.fakes.server import FakeServer, Reply

from .cloud_engine import CloudRig


def replicate_case(server: FakeServer, tmp: Path) -> tuple[CloudRig, str, Any]:
    fake = FakeReplicate(server, file_body=image_bytes(64, 48, "PNG"), file_type="image/png")
    rig = CloudRig(tmp, "replicate", {"base_url": fake.base_url, "poll_s": 0.01},
                   env={"REPLICATE_API_TOKEN": fake.key})  # fmt: skip

    def echo_key() -> None:
        fake.create_errors = [problem(401, "Unauthenticated", f"invalid token {fake.key}")]

    return rig, fake.key, echo_key


def fal_case(server: FakeServer, tmp: Path) -> tuple[CloudRig, str, Any]:
    fake = FakeFal(server, file_body=image_bytes(64, 48, "PNG"))
    rig = CloudRig(tmp, "fal", {"base_url": fake.base_url, "poll_s": 0.01},
                   env={"FAL_KEY": fake.key})  # fmt: skip

    def echo_key() -> None:
        fake.submit_errors = [Reply(status=403, json={"detail": f"Key {fake.key} is disabled"})]

    return rig, fake.key, echo_key


def tmux_argvs(image: Path, env: dict[str, str]) -> list[list[str]]:
    """Every argv the tmux spawner runs to show `image` (tmux itself is faked)."""
    calls: list[list[str]] = []

    def runner(argv: list[str], **_: Any) -> SimpleNamespace:
        calls.append(argv)
        out = {"display": "$1 @1", "new-window": "@2"}.get(argv[1], "")
        return SimpleNamespace(returncode=0, stdout=out, stderr="")

    result = open_image_window(image, "fox", env=env, runner=runner)
    assert result.ok, result.error
    return calls


def dump(db: Path) -> str:
    with sqlite3.connect(db) as conn:
        return "\n".join(conn.iterdump())


@pytest.mark.parametrize("case", [replicate_case, fal_case], ids=["replicate", "fal"])
def test_the_key_is_never_stored_logged_shown_or_put_on_a_command_line(
    case: Any, fake_server: FakeServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    rig, key, echo_key = case(fake_server, tmp_path)
    good = rig.run(rig.request(seed=3))
    assert good.state == JobState.DONE, good.error_message
    echo_key()
    bad = rig.run(rig.request(seed=4))
    assert bad.state == JobState.FAILED and bad.error_code == "auth_failed"
    assert "[redacted]" in (bad.error_message or "")
    shown = [bad.error_message or "", caplog.text]
    shown += [f"{e.job.message} {e.job.error_message}" for e in rig.events]
    for text in shown:
        assert key not in text
    files = [p for p in rig.tmp.rglob("*") if p.is_file() and p.suffix != ".toml"]
    image = Path(good.output_path or "")
    assert image.suffix == ".png" and image in files  # PNG text chunks are checked too
    assert any(p.name == "jobs.sqlite3" for p in files)
    assert any(p.name == "index.sqlite3" for p in files)
    for path in files:
        assert key.encode() not in path.read_bytes(), path
    for db in ("jobs.sqlite3", "index.sqlite3"):
        assert key not in dump(rig.tmp / "state" / db)
    env = {"TMUX": "/tmp/tmux-1/default,1,0", "TMUX_PANE": "%1", **rig.env}
    for argv in tmux_argvs(image, env):
        assert all(key not in arg for arg in argv), argv
