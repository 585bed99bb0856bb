"""Benchmark the workbench with a history of 10,000 images; prints numbers, asserts nothing.

Run: .venv/bin/python tests/bench/workbench_bench.py [count] [runs]

Measures (issue 7 targets in brackets):
* time to first paint (the `Ready` event: first frame on screen) of `imagen-tui` vs a bare Textual
  app, each a fresh process from launch, alternated `runs` times, headless 160x48 [≤ 1.5×];
  also the time until the editor's option fields are mounted (fully interactive);
* key → preview: from posting a `j`/`k` key to the first frame that shows the new image, warm
  (thumbnail decoded before) [median ≤ 30 ms] and cold (thumbnail not on disk yet) [≤ 120 ms];
* foreign image: an image written by `imagen-tui --once` in another process, from the file's
  mtime to the frame where the list holds it [≤ 1 s];
* peak RSS of the workbench process [≤ 150 MB].
Everything runs in a private temp dir (its own XDG dirs); nothing of the user's is touched, but
imagen_tui's own modules are byte-compiled first (`__pycache__` beside them, as pip does on
install): the bare app's Textual is compiled too, so both start from bytecode.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD_BARE = """
import os, sys, time
from textual.app import App
from textual.widgets import Footer, Static
class Bare(App):
    def compose(self):
        yield Static("bare"); yield Footer()
    def on_ready(self):
        print(f"ready {time.time() - float(os.environ['T_LAUNCH']):.4f}", flush=True)
        self.exit()
Bare().run(headless=True, size=(160, 48))
"""

CHILD_WORKBENCH = """
import os, sys, time
T = float(os.environ["T_LAUNCH"])
from imagen_tui.backends import Engine
from imagen_tui.tui.app import WorkbenchApp
class Timed(WorkbenchApp):
    def on_ready(self):
        super().on_ready()
        print(f"ready {time.time() - T:.4f}", flush=True)
        self.set_interval(0.005, self._check)
    def _check(self):
        editor = self.screen.query_one("#editor")
        if editor.ready.is_set() and self.started:
            print(f"fields {time.time() - T:.4f}", flush=True)
            self.exit()
Timed(open_engine=lambda: Engine.open(sys.argv[1]), renderer="halfcell", watch=False).run(
    headless=True, size=(160, 48))
"""


def make_history(out: Path, count: int) -> None:
    """`count` small PNGs (distinct colours) with sidecars, 500 per day folder."""
    from PIL import Image

    rng = random.Random(7)
    words = ("fox", "castle", "neon", "river", "portrait", "storm", "garden", "robot", "ocean")
    t0 = 1_760_000_000
    for n in range(count):
        day = out / f"2025-{1 + n // 5000:02d}-{1 + (n // 500) % 28:02d}"
        if n % 500 == 0:
            day.mkdir(parents=True, exist_ok=True)
        image = day / f"{n:06d}-img.png"
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        Image.new("RGB", (96, 64), colour).save(image, compress_level=1)
        prompt = " ".join(rng.choices(words, k=6)) + f" #{n}"
        meta = {
            "version": 1, "prompt": prompt, "backend": "mock", "model": "mock-v1",
            "seed": n, "steps": 8, "width": 96, "height": 64, "cost_usd": 0.0,
            "created_at": t0 + n * 30, "request": {"prompt": prompt, "seed": n},
        }  # fmt: skip
        image.with_suffix(".json").write_text(json.dumps(meta))


def compile_package() -> int:
    """Byte-compile imagen_tui's modules as installing a wheel does; returns how many folders.

    The bare app's Textual was byte-compiled by pip; an editable checkout run with
    PYTHONDONTWRITEBYTECODE=1 (this sandbox sets it) compiled every imagen_tui module at every
    start instead (~0.2 s of its first paint here), which no installed copy pays.
    """
    import compileall

    import imagen_tui.backends
    import imagen_tui.tui

    folders = [Path(p) for m in (imagen_tui.backends, imagen_tui.tui) for p in m.__path__]
    for folder in folders:
        compileall.compile_dir(folder, quiet=1)
    return len(folders)


def first_paint(cfg: Path, env: dict[str, str], runs: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {"bare": [], "workbench": [], "fields": []}
    for _ in range(runs):
        for name, code in (("bare", CHILD_BARE), ("workbench", CHILD_WORKBENCH)):
            env["T_LAUNCH"] = repr(time.time())
            out = subprocess.run(
                [sys.executable, "-c", code, str(cfg)], env=env, capture_output=True, text=True,
                timeout=120, check=True,
            ).stdout  # fmt: skip
            for line in out.splitlines():
                label, value = line.split()
                times["workbench" if label == "ready" and name == "workbench" else
                      "bare" if label == "ready" else "fields"].append(float(value))  # fmt: skip
    return times


async def in_process(cfg: Path, out: Path, env: dict[str, str]) -> dict[str, object]:
    from imagen_tui.backends import Engine
    from imagen_tui.tui.app import WorkbenchApp

    frames: list[tuple[float, int]] = []

    class Timed(WorkbenchApp):
        def _display(self, screen, renderable) -> None:  # noqa: ANN001 (Textual's signature)
            super()._display(screen, renderable)
            try:
                image = screen.query_one("#preview").image
            except Exception:
                image = None
            frames.append((time.perf_counter(), id(image)))

    app = Timed(Engine.open(cfg), renderer="halfcell", watch=True, poll_interval=0.5)
    results: dict[str, object] = {}
    async with app.run_test(size=(160, 48), tooltips=False, notifications=False) as pilot:
        while not (app.started and app.screen.query_one("#history-list").count):
            await pilot.pause(0.05)
        lst = app.screen.query_one("#history-list")
        results["rows"] = lst.count
        await pilot.press("f4")
        await pilot.pause(0.3)

        async def key_to_preview(key: str) -> float | None:
            before = id(app.screen.query_one("#preview").image)
            start = len(frames)
            t0 = time.perf_counter()
            await pilot.press(key)
            for _ in range(200):
                hit = next((t for t, i in frames[start:] if i != before and t >= t0), None)
                if hit is not None:
                    return (hit - t0) * 1000
                await pilot.pause(0.005)
            return None

        cold = [await key_to_preview("j") for _ in range(40)]
        warm = [await key_to_preview("k") for _ in range(39)]
        results["cold_ms"] = [c for c in cold if c is not None]
        results["warm_ms"] = [w for w in warm if w is not None]

        before = lst.count
        proc = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "imagen_tui.tui.cli", "--once", "foreign lantern", "--size",
             "64x64", "-q", "--config", str(cfg)],
            env=env, capture_output=True, text=True, timeout=120, check=True,
        )  # fmt: skip
        written = Path(proc.stdout.strip()).stat().st_mtime
        while lst.count == before:
            await pilot.pause(0.005)
        results["foreign_ms"] = (time.time() - written) * 1000
    results["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return results


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    reuse = os.environ.get("WB_BENCH_DIR")  # a folder a previous run set up (skips set-up)
    root = Path(reuse) if reuse else Path(tempfile.mkdtemp(prefix="wbbench"))
    for var in ("HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME"):
        (root / var).mkdir(exist_ok=True)
        os.environ[var] = str(root / var)
    for var in [v for v in os.environ if v.startswith(("TMUX", "IMAGEN_"))]:
        del os.environ[var]
    out = root / "out"
    cfg = root / "config.toml"
    cfg.write_text(f'[output]\ndir = "{out}"\n[preview]\nmode = "off"\n')
    t = time.perf_counter()
    if not reuse:
        make_history(out, count)
        from imagen_tui.backends import Engine

        Engine.open(cfg).history.reindex()
    print(f"set-up in {root}: {count} images written and indexed in "
          f"{time.perf_counter() - t:.1f} s")  # fmt: skip
    env = dict(os.environ)
    compile_package()
    print("bytecode: imagen_tui compiled beforehand, as in an installed copy")
    paint = first_paint(cfg, env, runs)
    bare, wb, fields = (statistics.median(paint[k]) for k in ("bare", "workbench", "fields"))
    print(f"first paint (median of {runs}, fresh processes, headless 160x48):")
    print(f"  bare Textual app  {bare * 1000:7.0f} ms")
    print(f"  imagen-tui        {wb * 1000:7.0f} ms  = {wb / bare:.2f}x bare (target <= 1.5x)")
    print(f"  fields mounted    {fields * 1000:7.0f} ms  = {fields / bare:.2f}x bare")
    res = asyncio.run(in_process(cfg, out, env))
    warm, cold = res["warm_ms"], res["cold_ms"]
    print(f"history rows: {res['rows']}")
    print(f"key -> preview warm: median {statistics.median(warm):.1f} ms, "
          f"max {max(warm):.1f} ms over {len(warm)} keys (target median <= 30 ms)")  # fmt: skip
    print(f"key -> preview cold: median {statistics.median(cold):.1f} ms, "
          f"max {max(cold):.1f} ms over {len(cold)} keys (target <= 120 ms)")  # fmt: skip
    print(
        f"foreign image visible: {res['foreign_ms']:.0f} ms after its file was written "
        "(target <= 1000 ms)"
    )
    print(f"peak RSS (bench process, 10k-row workbench): {res['rss_mb']:.0f} MB (target <= 150)")


if __name__ == "__main__":
    main()
