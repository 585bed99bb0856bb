"""A table of hostile inputs through the real CLI (issue: hardening).

For each: the documented exit code, exactly one stderr line for a failure (none for a success),
no traceback, no temp file left anywhere, and the index listing exactly the images on disk.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from .helpers import TIMEOUT_S

OK, FAILED, USAGE = 0, 1, 2


def bomb_png(path: Path) -> Path:
    """A tiny PNG whose header claims 100000×100000 pixels: never decoded, refused by size."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0"))
    path.write_bytes(data + chunk(b"IEND", b""))
    return path


def real_png(path: Path) -> Path:
    from PIL import Image

    Image.new("RGB", (32, 32), (1, 2, 3)).save(path)
    return path


def fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


# (id, argv with {tmp} placeholders, stdin bytes, extra env, expected exit, stderr lines)
CASES: list[tuple[str, list[str], bytes | None, dict[str, str], int, int]] = [
    ("empty prompt", ["--once", ""], None, {}, USAGE, 1),
    ("blank prompt", ["--once", "   \t "], None, {}, USAGE, 1),
    ("empty stdin", ["--once", "-"], b"", {}, USAGE, 1),
    ("stdin not utf-8", ["--once", "-"], b"\xff\xfe\xfa bad", {}, USAGE, 1),
    ("prompt too long", ["--once", "x" * 25_000], None, {}, USAGE, 1),
    ("negative too long", ["--once", "x", "--negative", "n" * 25_000], None, {}, USAGE, 1),
    ("size too small", ["--once", "x", "--size", "10x10"], None, {}, USAGE, 1),
    ("size too big", ["--once", "x", "--size", "5000x512"], None, {}, USAGE, 1),
    ("size words", ["--once", "x", "--size", "big"], None, {}, USAGE, 1),
    ("size one side", ["--once", "x", "--size", "512"], None, {}, USAGE, 1),
    ("size three sides", ["--once", "x", "--size", "64x64x64"], None, {}, USAGE, 1),
    ("size negative", ["--once", "x", "--size", "-64x64"], None, {}, USAGE, 1),
    ("size fullwidth digits", ["--once", "x", "--size", "５１２x５１２"], None, {}, USAGE, 1),
    ("size float", ["--once", "x", "--size", "64.5x64"], None, {}, USAGE, 1),
    ("seed negative", ["--once", "x", "--seed", "-1"], None, {}, USAGE, 1),
    ("seed huge", ["--once", "x", "--seed", "9" * 30], None, {}, USAGE, 1),
    ("seed text", ["--once", "x", "--seed", "abc"], None, {}, USAGE, 1),
    ("steps zero", ["--once", "x", "--steps", "0"], None, {}, USAGE, 1),
    ("steps huge", ["--once", "x", "--steps", "100000"], None, {}, USAGE, 1),
    ("count zero", ["--once", "x", "-n", "0"], None, {}, USAGE, 1),
    ("count too many", ["--once", "x", "-n", "65"], None, {}, USAGE, 1),
    ("count text", ["--once", "x", "-n", "lots"], None, {}, USAGE, 1),
    ("unknown backend", ["--once", "x", "--backend", "nope"], None, {}, USAGE, 1),
    ("unknown style", ["--once", "x", "--style", "noir"], None, {}, USAGE, 1),
    ("option without =", ["--once", "x", "-o", "nokey"], None, {}, USAGE, 1),
    ("option without key", ["--once", "x", "-o", "=1"], None, {}, USAGE, 1),
    ("option bad number", ["--once", "x", "-o", "latency_s=abc"], None, {}, USAGE, 1),
    ("option out of range", ["--once", "x", "-o", "latency_s=-1"], None, {}, USAGE, 1),
    ("option unknown", ["--once", "x", "-o", "quality=high"], None, {}, USAGE, 1),
    ("option bad choice", ["--once", "x", "-o", "fail_with=bogus"], None, {}, USAGE, 1),
    ("ref missing", ["--once", "x", "--ref", "{tmp}/missing.png"], None, {}, USAGE, 1),
    ("ref directory", ["--once", "x", "--ref", "{tmp}"], None, {}, USAGE, 1),
    ("ref /dev/null", ["--once", "x", "--ref", "/dev/null"], None, {}, USAGE, 1),
    ("ref fifo", ["--once", "x", "--ref", "{fifo}"], None, {}, USAGE, 1),
    ("ref text file", ["--once", "x", "--ref", "{text}"], None, {}, USAGE, 1),
    ("ref decompression bomb", ["--once", "x", "--ref", "{bomb}"], None, {}, USAGE, 1),
    ("too many refs", ["--once", "x", *["--ref", "{png}"] * 17], None, {}, USAGE, 1),
    ("unknown flag", ["--once", "x", "--frobnicate"], None, {}, USAGE, 1),
    ("unknown subcommand word", ["frobnicate"], None, {}, USAGE, 1),
    ("config missing", ["--once", "x", "--config", "{tmp}/nope.toml"], None, {}, USAGE, 1),
    ("config is a dir", ["--once", "x", "--config", "{tmp}"], None, {}, USAGE, 1),
    ("config bad toml", ["--once", "x", "--config", "{badtoml}"], None, {}, USAGE, 1),
    ("config unknown key", ["--once", "x", "--config", "{badkey}"], None, {}, USAGE, 1),
    ("config validate missing", ["config", "validate", "{tmp}/nope.toml"], None, {}, USAGE, 1),
    ("env bad number", ["--once", "x"], None, {"IMAGEN_LIMITS__MAX_CONCURRENT": "many"},
     USAGE, 1),
    ("env bad choice", ["--once", "x"], None, {"IMAGEN_OUTPUT__SIDECAR": "sometimes"}, USAGE, 1),
    ("history limit zero", ["history", "--limit", "0"], None, {}, USAGE, 1),
    ("history limit text", ["history", "--limit", "ten"], None, {}, USAGE, 1),
    ("jobs limit negative", ["jobs", "--limit", "-5"], None, {}, USAGE, 1),
    ("jobs bad state", ["jobs", "--state", "sleeping"], None, {}, USAGE, 1),
    ("view missing", ["view", "{tmp}/missing.png"], None, {}, USAGE, 1),
    ("rerun missing", ["rerun", "{tmp}/missing.png"], None, {}, USAGE, 1),
    ("library add nothing", ["library", "add"], None, {}, USAGE, 1),
    ("library remove unknown", ["library", "remove", "{tmp}"], None, {}, USAGE, 1),
    ("library list with a folder", ["library", "list", "{tmp}"], None, {}, USAGE, 1),
    ("cancel unknown job", ["cancel", "nosuchjob"], None, {}, FAILED, 1),
    ("cancel empty job id", ["cancel", ""], None, {}, USAGE, 1),
    ("cancel blank job id", ["cancel", "   "], None, {}, USAGE, 1),
    ("cancel escape in job id", ["cancel", "ab\x1b[2Jcd"], None, {}, USAGE, 1),
    ("trash missing", ["trash", "{tmp}/missing.png"], None, {}, FAILED, 1),
    ("restore missing", ["restore", "{tmp}/missing.png"], None, {}, FAILED, 1),
    ("trash outside library", ["trash", "{png}"], None, {}, FAILED, 1),
    ("library add a file", ["library", "add", "{png}"], None, {}, FAILED, 1),
    ("output is a file", ["--once", "x", "--output", "{text}"], None, {}, FAILED, 1),
    ("output under /proc", ["--once", "x", "--output", "/proc/imagen-nope"], None, {}, FAILED, 1),
    ("state dir is a file", ["--once", "x"], None, {"XDG_STATE_HOME": "{text}"}, FAILED, 1),
    ("provider safety block", ["--once", "x", "-o", "fail_with=safety_blocked"], None, {},
     FAILED, 1),
    ("provider rate limit exhausted", ["--once", "x", "-o", "fail_with=rate_limited",
     "-o", "retry_after_s=0"], None, {"IMAGEN_LIMITS__RETRIES": "0"}, FAILED, 1),
    ("escape codes in prompt", ["--once", "\x1b]0;pwned\x07\x1b[2J red fox\u202e"], None, {},
     OK, 0),
    ("nul in stdin prompt", ["--once", "-"], b"a\x00b fox", {}, OK, 0),
    ("key-like env var is ignored", ["--once", "x"], None,
     {"IMAGEN_OPENAI_API_KEY": "sk-secret-value"}, OK, 0),
    ("near-miss env var warns", ["--once", "x"], None, {"IMAGEN_OUTPUT__DIRR": "/x"}, OK, 1),
    ("global option before subcommand", ["--config", "{good}", "history"], None, {}, OK, 0),
]  # fmt: skip


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    box = tmp_path / "box"
    box.mkdir()
    (box / "notes.txt").write_text("not an image")
    (box / "bad.toml").write_text("[output\n")
    (box / "badkey.toml").write_text('[output]\ndirr = "/x"\n')
    (box / "good.toml").write_text('default_backend = "mock"\n')
    return {
        "tmp": str(box),
        "text": str(box / "notes.txt"),
        "png": str(real_png(box / "ref.png")),
        "bomb": str(bomb_png(box / "bomb.png")),
        "fifo": str(fifo(box / "pipe")),
        "badtoml": str(box / "bad.toml"),
        "badkey": str(box / "badkey.toml"),
        "good": str(box / "good.toml"),
    }


def fill(value: str, files: dict[str, str]) -> str:
    for key, path in files.items():
        value = value.replace("{" + key + "}", path)
    return value


@pytest.mark.parametrize(
    ("argv", "stdin", "env", "code", "lines"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_hostile_input(
    argv: list[str],
    stdin: bytes | None,
    env: dict[str, str],
    code: int,
    lines: int,
    files: dict[str, str],
    isolated_env: dict[str, Path],
) -> None:
    args = [fill(a, files) for a in argv]
    if args[:1] == ["--once"]:
        args += ["--no-preview"] + ([] if "--size" in args else ["--size", "64x64"])
    full_env = {**os.environ, **{k: fill(v, files) for k, v in env.items()}}
    res = subprocess.run(
        [sys.executable, "-m", "imagen_tui.tui.cli", *args],
        input=stdin or b"",
        capture_output=True,
        env=full_env,
        timeout=TIMEOUT_S,
    )
    err = res.stderr.decode("utf-8", "replace")
    assert res.returncode == code, err
    assert "Traceback" not in err
    assert len(err.splitlines()) == lines, err
    assert "\x1b" not in err and "\x1b" not in res.stdout.decode("utf-8", "replace")
    assert "sk-secret-value" not in err
    root = Path(files["tmp"]).parent
    assert [p for p in root.rglob("*.part")] == []
    assert_index_matches_disk(isolated_env)


def assert_index_matches_disk(isolated_env: dict[str, Path]) -> None:
    res = subprocess.run(
        [sys.executable, "-m", "imagen_tui.tui.cli", "history", "--json", "--limit", "1000"],
        capture_output=True, text=True, timeout=TIMEOUT_S,
    )  # fmt: skip
    listed = {json.loads(line)["path"] for line in res.stdout.splitlines()}
    out = isolated_env["data"] / "imagen-tui" / "images"
    on_disk = (
        {str(p) for p in out.rglob("*.png") if ".trash" not in p.parts} if out.exists() else set()
    )
    assert listed == on_disk


def test_a_deleted_working_directory_is_one_line(tmp_path: Path) -> None:
    gone = tmp_path / "gone"
    gone.mkdir()
    code = (
        "import os, sys, runpy\n"
        f"os.chdir({str(gone)!r}); os.rmdir({str(gone)!r})\n"
        "sys.argv = ['imagen-tui', '--once', 'x', '--size', '64x64', '--output', 'rel']\n"
        "runpy.run_module('imagen_tui.tui.cli', run_name='__main__')\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.returncode == USAGE
    (line,) = res.stderr.splitlines()
    assert "current directory no longer exists" in line


def test_an_index_missing_its_table_is_rebuilt(isolated_env: dict[str, Path]) -> None:
    import sqlite3

    run = [sys.executable, "-m", "imagen_tui.tui.cli"]
    subprocess.run([*run, "--once", "kept fox", "--size", "64x64"], check=True, timeout=60)
    db = isolated_env["state"] / "imagen-tui" / "index.sqlite3"
    with sqlite3.connect(db) as conn:
        conn.execute("DROP TABLE images")
    for args in (["history"], ["history", "--reindex"]):
        res = subprocess.run([*run, *args], capture_output=True, text=True, timeout=60)
        assert res.returncode == OK and "Traceback" not in res.stderr, res.stderr
        assert "kept fox" in res.stdout


def test_a_dead_writers_temp_file_is_cleaned_on_the_next_write(
    isolated_env: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    day = out / "day"
    day.mkdir(parents=True)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    stale = day / f".{dead}-0123456789abcdef.part"
    stale.write_bytes(b"half an image")
    live = day / f".{os.getpid()}-fedcba9876543210.part"
    live.write_bytes(b"another writer is busy")
    res = subprocess.run(
        [sys.executable, "-m", "imagen_tui.tui.cli", "--once", "x", "--size", "64x64",
         "--output", str(out)],
        capture_output=True, text=True, timeout=60,
        env={**os.environ, "IMAGEN_OUTPUT__NAMING": "day/{slug}-{seed}.{ext}"},
    )  # fmt: skip
    assert res.returncode == OK, res.stderr
    assert not stale.exists() and live.exists()


def test_concurrent_runs_into_many_output_dirs_all_stay_in_the_history(tmp_path: Path) -> None:
    outs = [tmp_path / f"out{i}" for i in range(8)]
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "imagen_tui.tui.cli",
                "--once",
                f"fox {i}",
                "--size",
                "64x64",
                "--output",
                str(out),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )  # fmt: skip
        for i, out in enumerate(outs)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=TIMEOUT_S)
        assert proc.returncode == OK, err
    res = subprocess.run(
        [sys.executable, "-m", "imagen_tui.tui.cli", "history", "--reindex", "--json",
         "--limit", "100"],
        capture_output=True, text=True, timeout=TIMEOUT_S,
    )  # fmt: skip
    listed = {json.loads(line)["prompt"] for line in res.stdout.splitlines()}
    assert listed == {f"fox {i}" for i in range(8)}
