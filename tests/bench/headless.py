"""Headless benchmarks: `--once` wall time vs a Pillow floor, and 50 concurrent writers.

Run:  .venv/bin/python tests/bench/headless.py [--runs N] [--procs N]
Prints numbers; asserts nothing (targets are printed beside them).
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FLOOR = "from PIL import Image; Image.new('RGB', (512, 512), (200, 120, 40)).save({out!r})"


def isolated_env(root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IMAGEN_", "TMUX"))}
    # A user's Python caches bytecode; without that every run recompiles our modules from
    # source (some sandboxes set PYTHONDONTWRITEBYTECODE=1), which is not what anyone runs.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    for var in ("HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME"):
        (root / var).mkdir(parents=True, exist_ok=True)
        env[var] = str(root / var)
    return env


def imagen_cmd() -> list[str]:
    script = Path(sys.executable).with_name("imagen-tui")
    return [str(script)] if script.exists() else [sys.executable, "-m", "imagen_tui.tui.cli"]


def timed(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, capture_output=True, timeout=60)
    return time.perf_counter() - start


def once_vs_floor(runs: int, root: Path) -> None:
    env = isolated_env(root / "once")
    once = [*imagen_cmd(), "--once", "a lighthouse at dusk", "--backend", "mock",
            "--size", "512x512", "--no-preview"]  # fmt: skip
    floor = [sys.executable, "-c", FLOOR.format(out=str(root / "floor.png"))]
    timed(once, env), timed(floor, env)  # warm the page cache
    once_t, floor_t = [], []
    for _ in range(runs):  # interleaved, so load spikes hit both alike
        floor_t.append(timed(floor, env))
        once_t.append(timed(once, env))
    f, o = statistics.median(floor_t), statistics.median(once_t)
    print(f"floor (python -c, Pillow saves 512x512 PNG): median {f * 1000:.0f} ms over {runs} runs")
    print(f"imagen-tui --once --size 512x512 (mock):     median {o * 1000:.0f} ms over {runs} runs")
    print(f"ratio once/floor: {o / f:.2f}x   (target <= 2.5x)")


def concurrent_writers(procs: int, root: Path) -> None:
    env = isolated_env(root / "concurrent")
    cmd = [*imagen_cmd(), "--once", "same prompt for everyone", "--seed", "1", "--size",
           "128x128", "--no-preview"]  # fmt: skip
    start = time.perf_counter()
    running = [subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True) for _ in range(procs)]  # fmt: skip
    results = [p.communicate(timeout=300) + (p.returncode,) for p in running]
    wall = time.perf_counter() - start
    failures = [r for r in results if r[2] != 0]
    locked = sum("locked" in r[1] for r in results)
    paths = {r[0].strip() for r in results if r[2] == 0}
    db = Path(env["XDG_STATE_HOME"]) / "imagen-tui" / "index.sqlite3"
    with sqlite3.connect(db) as conn:
        indexed = conn.execute("SELECT count(*) FROM images").fetchone()[0]
        jobs_done = conn.execute("SELECT count(*) FROM jobs WHERE state='done'").fetchone()[0]
    print(f"{procs} concurrent --once processes: {wall:.1f} s wall, {len(failures)} failed, "
          f"{locked} 'database is locked', {len(paths)} distinct files, {indexed} indexed, "
          f"{jobs_done} jobs done in the log (target: all {procs} land, all indexed)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--procs", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="imagen-bench-") as tmp:
        once_vs_floor(args.runs, Path(tmp))
        concurrent_writers(args.procs, Path(tmp))


if __name__ == "__main__":
    main()
