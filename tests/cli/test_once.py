"""`imagen-tui --once` end to end, through a subprocess, on the mock backend."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from PIL import Image

from .helpers import cli, one_line


def out_dir(isolated_env: dict[str, Path]) -> Path:
    return isolated_env["data"] / "imagen-tui" / "images"


def test_once_on_embedded_mock_writes_image_sidecar_and_prints_path(
    isolated_env: dict[str, Path],
) -> None:
    res = cli("--once", "a red fox in the snow", "--seed", "42", "--size", "256x192")
    assert res.returncode == 0, res.stderr
    assert res.stderr == ""  # piped stderr stays clean
    (line,) = res.stdout.splitlines()
    path = Path(line)
    assert path.is_file() and path.is_relative_to(out_dir(isolated_env))
    assert "a-red-fox-in-the-snow" in path.name and "42" in path.name
    with Image.open(path) as img:
        assert img.size == (256, 192)
        text = img.text  # type: ignore[attr-defined]
    assert "Seed: 42" in text["parameters"]
    assert json.loads(text["imagen-tui"])["prompt"] == "a red fox in the snow"
    sidecar = json.loads(path.with_suffix(".json").read_text())
    assert sidecar["seed"] == 42 and sidecar["backend"] == "mock"
    assert (sidecar["width"], sidecar["height"]) == (256, 192)


def test_same_seed_same_pixels_other_seed_differs(tmp_path: Path) -> None:
    args = ("--size", "128x128", "--output", str(tmp_path))
    a = cli("--once", "lighthouse", "--seed", "7", *args).stdout.strip()
    b = cli("--once", "lighthouse", "--seed", "7", *args).stdout.strip()
    c = cli("--once", "lighthouse", "--seed", "8", *args).stdout.strip()
    assert a != b  # never overwritten: a suffix on collision
    with Image.open(a) as ia, Image.open(b) as ib, Image.open(c) as ic:
        assert ia.tobytes() == ib.tobytes()
        assert ia.tobytes() != ic.tobytes()


def test_json_output_and_random_seed_reported(isolated_env: dict[str, Path]) -> None:
    res = cli("--once", "tide pools", "--json", "-n", "3", "--size", "64x64")
    assert res.returncode == 0, res.stderr
    objs = [json.loads(line) for line in res.stdout.splitlines()]
    assert len(objs) == 3 and len({o["path"] for o in objs}) == 3
    for o in objs:
        assert set(o) >= {
            "path",
            "sidecar",
            "prompt",
            "seed",
            "backend",
            "size",
            "cost",
            "duration",
        }
        assert o["size"] == "64x64" and o["backend"] == "mock" and o["prompt"] == "tide pools"
        assert isinstance(o["seed"], int) and Path(o["sidecar"]).is_file()
        assert json.loads(Path(o["sidecar"]).read_text())["seed"] == o["seed"]


def test_prompt_from_stdin(tmp_path: Path) -> None:
    res = cli("--once", "-", "--size", "64x64", "--output", str(tmp_path), stdin="moss on stone\n")
    assert res.returncode == 0, res.stderr
    assert "moss-on-stone" in res.stdout


def test_no_sidecar_still_embeds_metadata(tmp_path: Path) -> None:
    res = cli("--once", "owl", "--no-sidecar", "--size", "64x64", "--output", str(tmp_path))
    path = Path(res.stdout.strip())
    assert path.is_file() and not path.with_suffix(".json").exists()
    with Image.open(path) as img:
        assert "owl" in img.text["parameters"]  # type: ignore[attr-defined]


def test_generation_failure_exits_1_with_code_and_message(tmp_path: Path) -> None:
    res = cli("--once", "x", "-o", "fail_with=safety_blocked", "--output", str(tmp_path))
    assert res.returncode == 1
    assert one_line(res.stderr).startswith("imagen-tui: safety_blocked: ")
    assert res.stdout == "" and not any(tmp_path.rglob("*.png"))


def test_history_lists_and_searches_what_once_made(tmp_path: Path) -> None:
    for prompt in ("a red fox", "blue whale", "red panda"):
        assert cli("--once", prompt, "--size", "64x64").returncode == 0
    res = cli("history", "--search", "red", "--json")
    assert res.returncode == 0, res.stderr
    prompts = sorted(json.loads(line)["prompt"] for line in res.stdout.splitlines())
    assert prompts == ["a red fox", "red panda"]
    assert len(cli("history", "--limit", "2").stdout.splitlines()) == 2


def test_ctrl_c_cancels_cleanly_with_130_and_no_partial_file(tmp_path: Path) -> None:
    out_dir = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "imagen_tui.tui.cli", "--once", "slow", "-o", "latency_s=20",
         "--output", str(out_dir)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        index = Path(os.environ["XDG_STATE_HOME"]) / "imagen-tui" / "jobs.sqlite3"
        while not index.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    assert out == ""
    assert [p for p in out_dir.rglob("*") if p.is_file()] == []
    with sqlite3.connect(index) as conn:
        states = conn.execute("SELECT state FROM jobs").fetchall()  # the job log's own file
    assert states == [("cancelled",)]


def test_progress_line_on_a_terminal(tmp_path: Path) -> None:
    import pty

    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "imagen_tui.tui.cli", "--once", "x", "-o", "latency_s=0.5",
         "--size", "64x64", "--output", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=follower, text=True,
    )  # fmt: skip
    os.close(follower)
    out, _ = proc.communicate(timeout=30)
    chunks = []
    while True:
        try:
            data = os.read(leader, 4096)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    os.close(leader)
    shown = b"".join(chunks).decode()
    assert proc.returncode == 0
    assert "running" in shown and "%" in shown and "\r" in shown
    assert Path(out.strip()).is_file()


def test_quiet_silences_progress_on_a_terminal(tmp_path: Path) -> None:
    import pty

    leader, follower = pty.openpty()
    proc = subprocess.run(
        [sys.executable, "-m", "imagen_tui.tui.cli", "--once", "x", "--quiet", "--size", "64x64",
         "--output", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=follower, timeout=30,
    )  # fmt: skip
    os.close(follower)
    os.set_blocking(leader, False)
    try:
        shown = os.read(leader, 4096)
    except (BlockingIOError, OSError):
        shown = b""
    os.close(leader)
    assert proc.returncode == 0 and shown == b""


def test_concurrent_processes_share_one_store_without_lock_errors() -> None:
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "imagen_tui.tui.cli",
                "--once",
                "shared store",
                "--seed",
                "1",
                "--size",
                "64x64",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for _ in range(8)
    ]
    results = [(*p.communicate(timeout=120), p.returncode) for p in procs]
    assert all(rc == 0 for _, _, rc in results), [err for _, err, _ in results]
    paths = {out.strip() for out, _, _ in results}
    assert len(paths) == 8  # same name asked for 8 times: 8 distinct files
    listed = cli("history", "--search", "shared", "--limit", "50", "--json").stdout.splitlines()
    assert {json.loads(x)["path"] for x in listed} == paths
