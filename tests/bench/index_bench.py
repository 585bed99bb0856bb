"""Benchmark the index: rebuild from 10,000 images, then search CJK and Latin prompts.

Run: .venv/bin/python tests/bench/index_bench.py [count]
Targets: reindex ≤ 5 s for 10,000 images with sidecars; search (limit 50) median ≤ 20 ms.
Also measured, without a target: images/s of a rebuild on one core and on all usable cores,
for our own images (JSON sidecars) and for foreign ones (ComfyUI and A1111 PNG chunks only).
"""

from __future__ import annotations

import json
import random
import statistics
import struct
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from imagen_tui.backends.store.index import Index
from imagen_tui.backends.store.index_bulk import usable_cores

REINDEX_TARGET_S = 5.0
SEARCH_TARGET_MS = 20.0
WORDS = (
    "astronaut", "horse", "castle", "forest", "river", "neon", "city", "portrait", "cat", "dog",
    "dragon", "robot", "sunset", "ocean", "mountain", "cyberpunk", "watercolor", "oil",
    "painting", "cinematic", "lighting", "misty", "morning", "golden", "hour", "ancient",
    "temple", "futuristic", "spaceship", "underwater", "garden", "desert", "storm", "snowy",
    "village", "C++", "f/1.8", "8k",
)  # fmt: skip
JA = ("白い猫", "が", "雪の中", "を", "歩く", "古い寺", "夕焼け", "の", "桜", "東京", "夜景", "と")
ZH = ("一只", "橘猫", "在", "窗台上", "睡觉", "山水画", "金色", "的", "城市", "夜晚", "龙")
MODELS = ("sd_xl_base_1.0.safetensors", "flux1-dev.safetensors", "juggernautXL_v8", "mock-1")
QUERIES = {
    "latin word": ("cat", "neon city", "astro", "golden hour port", "misty morning village"),
    "cjk 1-2 chars": ("猫", "雪", "橘猫", "睡觉", "龙"),
    "cjk 3+ chars": ("雪の中", "窗台上", "白い猫 夕焼け", "山水画"),
    "literal": ("C++", "f/1.8", "sd_xl"),
    "fields": ("model:flux", "seed:12345", "negative:blurry cat", "backend:mock 猫"),
}


def prompt_for(rng: random.Random, n: int) -> str:
    """A third each: English, Japanese, Chinese (unspaced), some mixed with English words."""
    if n % 3 == 0:
        return " ".join(rng.choices(WORDS, k=rng.randint(5, 25)))
    parts = JA if n % 3 == 1 else ZH
    text = "".join(rng.choices(parts, k=rng.randint(4, 14)))
    return text + (", " + " ".join(rng.choices(WORDS, k=3)) if n % 5 == 0 else "")


def sidecar(rng: random.Random, n: int, t0: float) -> dict:
    prompt = prompt_for(rng, n)
    return {
        "version": 1, "prompt": prompt, "negative": "blurry, low quality", "backend": "mock",
        "backend_type": "mock", "model": rng.choice(MODELS), "seed": rng.randrange(2**32),
        "steps": 30, "width": 1024, "height": 1024, "style": None,
        "created_at": datetime.fromtimestamp(t0 + n * 37, UTC).isoformat(),
        "latency_s": 1.5, "cost_usd": 0.04, "revised_prompt": None, "favourite": n % 10 == 0,
        "tags": [], "job_id": f"{n:012x}", "request": {"prompt": prompt}, "provider": {},
    }  # fmt: skip


def make_files(out: Path, count: int) -> None:
    """`count` placeholder images with realistic sidecars, 100 per day-directory."""
    rng = random.Random(42)
    t0 = datetime(2024, 1, 1, tzinfo=UTC).timestamp()
    for n in range(count):
        day = out / f"2024-{1 + n // 3000:02d}-{1 + (n // 100) % 28:02d}"
        if n % 100 == 0:
            day.mkdir(parents=True, exist_ok=True)
        image = day / f"{n:06d}-image.png"
        image.write_bytes(b"\x89PNG placeholder")
        image.with_suffix(".json").write_text(json.dumps(sidecar(rng, n, t0), indent=2))
    trash = out / ".trash" / "2024-01-01"
    trash.mkdir(parents=True)
    for n in range(0, count, 50):  # a few trashed ones too
        (trash / f"t{n}.png").write_bytes(b"\x89PNG placeholder")


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png(chunks: list[bytes]) -> bytes:
    """A real 8×8 grey PNG carrying `chunks` after its header."""
    header = _chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 8, 8, 0, 0, 0, 0))
    pixels = _chunk(b"IDAT", zlib.compress(b"\x00" + b"\x80" * 8) * 1)
    return b"\x89PNG\r\n\x1a\n" + header + b"".join(chunks) + pixels + _chunk(b"IEND", b"")


def comfy_png(rng: random.Random, n: int) -> bytes:
    """ComfyUI's shape: an API `prompt` graph in tEXt and a bulky UI `workflow` in iTXt."""
    graph = {
        "3": {"class_type": "KSampler", "inputs": {
            "seed": rng.randrange(2**48), "steps": 20, "cfg": 7.0, "sampler_name": "euler",
            "scheduler": "normal", "denoise": 1.0, "model": ["4", 0], "positive": ["6", 0],
            "negative": ["7", 0], "latent_image": ["5", 0]}},
        "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": MODELS[n % 3]}},
        "5": {"class_type": "EmptyLatentImage",
              "inputs": {"width": 1024, "height": 1024, "batch_size": 1}},
        "6": {"class_type": "CLIPTextEncode", "inputs": {"text": prompt_for(rng, n),
                                                         "clip": ["4", 1]}},
        "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "blurry", "clip": ["4", 1]}},
    }  # fmt: skip
    node = {"type": "Node", "pos": [10, 0], "widgets_values": list(range(20)), "properties": {}}
    ui = {"nodes": [{"id": i, **node} for i in range(60)]}
    workflow = zlib.compress(json.dumps(ui).encode())
    return _png([
        _chunk(b"tEXt", b"prompt\x00" + json.dumps(graph).encode("latin-1", "replace")),
        _chunk(b"iTXt", b"workflow\x00\x01\x00\x00\x00" + workflow),
    ])  # fmt: skip


def a1111_png(rng: random.Random, n: int) -> bytes:
    text = (
        f"{prompt_for(rng, n)}\nNegative prompt: lowres, blurry\nSteps: 20, Sampler: Euler a, "
        f"CFG scale: 7, Seed: {rng.randrange(2**32)}, Size: 512x512, Model hash: 0123abcd, "
        f"Model: {MODELS[n % 4]}"
    )
    return _png([_chunk(b"iTXt", b"parameters\x00\x00\x00\x00\x00" + text.encode())])


def make_foreign(out: Path, count: int) -> None:
    """`count` PNGs without sidecars, as ComfyUI and Automatic1111 write them."""
    rng = random.Random(7)
    for n in range(count):
        folder = out / f"{n // 500:03d}"
        if n % 500 == 0:
            folder.mkdir(parents=True, exist_ok=True)
        make = comfy_png if n % 2 else a1111_png
        (folder / f"ComfyUI_{n:05d}_.png").write_bytes(make(rng, n))


def time_search(index: Index, queries: tuple[str, ...], runs: int = 20) -> tuple[float, float]:
    """Median milliseconds of `search(query, limit=50)` and of `count(query)` over runs."""
    searches, counts = [], []
    for _ in range(runs):
        for query in queries:
            start = time.perf_counter()
            index.search(query, limit=50)
            searches.append((time.perf_counter() - start) * 1000)
            start = time.perf_counter()
            index.count(query)
            counts.append((time.perf_counter() - start) * 1000)
    return statistics.median(searches), statistics.median(counts)


def rate(index: Index, workers: int) -> tuple[int, float]:
    """(images indexed, images per second) of one rebuild with `workers` processes."""
    start = time.perf_counter()
    indexed = index.reindex(workers=workers)
    return indexed, indexed / (time.perf_counter() - start)


def bench_rebuild(label: str, fill: Callable[[Path, int], None], count: int, tmp: Path) -> None:
    out, db = tmp / label, tmp / f"{label}.sqlite3"
    fill(out, count)
    with Index.open(db, out) as index:
        cores = usable_cores()
        rows = [(w, *rate(index, w)) for w in dict.fromkeys((1, cores))]
    for workers, indexed, per_s in rows:
        print(f"rebuild {label:<8} {workers} core(s): {per_s:8.0f} images/s ({indexed} images)")


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    with tempfile.TemporaryDirectory() as tmp:
        out, db = Path(tmp) / "images", Path(tmp) / "state" / "index.sqlite3"
        make_files(out, count)
        with Index.open(db, out) as index:  # created from the files: that is one reindex too
            start = time.perf_counter()
            indexed = index.reindex()
            reindex_s = time.perf_counter() - start
            every = tuple(q for queries in QUERIES.values() for q in queries)
            search_ms, count_ms = time_search(index, every)
            by_kind = {kind: time_search(index, qs) for kind, qs in QUERIES.items()}
            slowest = max((time_search(index, (q,), 5)[0], q) for q in every)
            skipped, hits = index.last_reindex.skipped, (index.count("cat"), index.count("猫"))
        start = time.perf_counter()
        Index.open(db, out).close()  # what every headless --once run pays first
        open_ms = (time.perf_counter() - start) * 1000
        print(f"images indexed: {indexed} ({count} with sidecars, {skipped} sidecars skipped)")
        print(f"reindex:        {reindex_s:.3f} s   (target <= {REINDEX_TARGET_S:.0f} s)")
        print(f"search median:  {search_ms:.2f} ms  (target <= {SEARCH_TARGET_MS:.0f} ms)")
        print(f"count median:   {count_ms:.2f} ms  (no target; the history's total)")
        for kind, (s_ms, c_ms) in by_kind.items():
            print(f"  {kind:<14} search {s_ms:6.2f} ms, count {c_ms:6.2f} ms")
        print(f"slowest query:  {slowest[1]!r} {slowest[0]:.2f} ms (median of 5)")
        print(f"open existing:  {open_ms:.2f} ms  (no target; paid by every --once run)")
        print(f"rows matching 'cat': {hits[0]}, '猫': {hits[1]}")
        print(f"usable cores:   {usable_cores()}")
        bench_rebuild("sidecars", make_files, count, Path(tmp))
        bench_rebuild("foreign", make_foreign, count, Path(tmp))


if __name__ == "__main__":
    main()
