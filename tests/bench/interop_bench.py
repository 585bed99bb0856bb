"""Benchmark `read_recipe` over 10,000 small foreign images, on one core and on all cores.

Run: .venv/bin/python tests/bench/interop_bench.py [count]
Mix: 40% PNG with A1111 `parameters`, 30% PNG with ComfyUI `prompt` + `workflow` chunks,
15% JPEG and 15% WebP with A1111 infotext in EXIF UserComment; 64×48 pixels each.
Prints images/s (wall and per CPU-second) for each run, how many were read as expected, and
peak RSS. Measured 2026-11-30 on a shared 2-vCPU machine: one process 650-2,540 images/s wall
(the machine's load varied), 2,200-2,700 images per CPU-second, 10,000/10,000 read as
expected, 31 MB peak; two processes were no faster because two processes of pure CPU work
ran at x0.73-1.22 of one here, which the bench prints first.
"""

from __future__ import annotations

import io
import json
import multiprocessing
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

from imagen_tui.backends.interop import read_recipe
from imagen_tui.backends.interop.pngtext import chunk

WORDS = ("fox", "castle", "neon", "misty", "forest", "白い猫", "golden hour", "(word:1.2)")


def infotext(n: int) -> str:
    prompt = ", ".join(WORDS[(n + i) % len(WORDS)] for i in range(12)) + f", <lora:x{n % 7}:0.8>"
    return (
        f"{prompt}\nNegative prompt: blurry, lowres\nSteps: {20 + n % 30}, Sampler: Euler a, "
        f"CFG scale: 7, Seed: {n * 7919}, Size: 64x48, Model hash: 0123abcd, Model: sd15"
    )


def comfy(n: int) -> tuple[str, str]:
    graph = {
        "3": {"class_type": "KSampler", "inputs": {"seed": n, "steps": 20, "cfg": 7,
              "sampler_name": "euler", "scheduler": "normal", "model": ["4", 0],
              "positive": ["6", 0], "negative": ["7", 0], "latent_image": ["5", 0]}},
        "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sd15.safetensors"}},
        "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 64, "height": 48}},
        "6": {"class_type": "CLIPTextEncode", "inputs": {"text": f"a fox number {n}"}},
        "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "blurry"}},
        "9": {"class_type": "SaveImage", "inputs": {"images": ["8", 0]}},
        "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0]}},
    }  # fmt: skip
    workflow = {
        "nodes": [{"id": i, "type": "Note", "widgets_values": ["x" * 200]} for i in range(30)]
    }
    return json.dumps(graph), json.dumps(workflow)


def user_comment(text: str) -> bytes:
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9286] = b"UNICODE\0" + text.encode("utf-16-be")
    return exif.tobytes()


def make_files(out: Path, count: int) -> list[Path]:
    base = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 80, 40)).save(base, "PNG")
    png = base.getvalue()
    paths = []
    for n in range(count):
        kind = n % 20
        if kind < 8:
            path, text = (
                out / f"{n:05d}.png",
                chunk(b"iTXt", b"parameters\0\0\0\0\0" + infotext(n).encode()),
            )
            path.write_bytes(png[:33] + text + png[33:])
        elif kind < 14:
            graph, workflow = comfy(n)
            texts = chunk(b"tEXt", b"prompt\0" + graph.encode()) + chunk(
                b"tEXt", b"workflow\0" + workflow.encode()
            )
            path = out / f"{n:05d}.png"
            path.write_bytes(png[:33] + texts + png[33:])
        else:
            fmt = "JPEG" if kind < 17 else "WEBP"
            path = out / f"{n:05d}.{fmt.lower()}"
            Image.new("RGB", (64, 48), (n % 255, 90, 30)).save(
                path, fmt, exif=user_comment(infotext(n))
            )
        paths.append(path)
    return paths


def read_one(path: Path) -> bool:
    recipe = read_recipe(path)
    return bool(recipe.prompt) and recipe.seed is not None and recipe.width == 64


def run(paths: list[Path], workers: int) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds of this process and its workers, images read as expected)."""
    start, cpu = time.perf_counter(), _cpu()
    if workers == 1:
        good = sum(map(read_one, paths))
    else:
        with multiprocessing.Pool(workers) as pool:
            good = sum(pool.imap_unordered(read_one, paths, chunksize=64))
    return time.perf_counter() - start, _cpu() - cpu, good


def _cpu() -> float:
    own, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def spin(_: int) -> int:
    return sum(range(3_000_000))


def parallel_speedup(workers: int) -> float:
    """How much faster `workers` processes run pure CPU work here than one: cores may be
    shared or capped, and the read_recipe numbers mean little without this."""
    start = time.perf_counter()
    list(map(spin, range(2 * workers)))
    serial = time.perf_counter() - start
    start = time.perf_counter()
    with multiprocessing.Pool(workers) as pool:
        pool.map(spin, range(2 * workers))
    return serial / (time.perf_counter() - start)


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    cores = os.cpu_count() or 1
    print(f"{cores} cores; pure-CPU speedup with {cores} processes: x{parallel_speedup(cores):.2f}")
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        paths = make_files(Path(tmp), count)
        print(f"generated {count} images in {time.perf_counter() - t0:.1f} s")
        for workers in (1, cores):
            elapsed, cpu, good = run(paths, workers)
            print(
                f"read_recipe, {workers} process(es): {count / elapsed:,.0f} images/s "
                f"({elapsed:.2f} s wall, {count / cpu:,.0f} images per CPU-second), "
                f"{good}/{count} read as expected"
            )
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"peak RSS: {own:.0f} MB (this process), {kids:.0f} MB (largest worker)")


if __name__ == "__main__":
    main()
