"""How much the `openai` adapter adds per image: decode + checks, and a full Engine round trip
against the loopback fake with a realistic 1024x1024 PNG (noise, ~3 MB; ~4 MB as base64), with
and without 3 streamed partials. Prints numbers; asserts nothing.

    .venv/bin/python -m tests.bench.openai_stream
"""

from __future__ import annotations

import asyncio
import base64
import io
import os
import statistics
import tempfile
import time
from pathlib import Path

from PIL import Image

import tests.fakes.openai as fake_openai
from imagen_tui.backends.adapters.image_payload import decode_image
from imagen_tui.backends.engine import Engine
from imagen_tui.backends.models import GenerationRequest
from tests.fakes.server import running
from tests.protocol.engine_harness import Run, make_engine, run_job

ROUNDS = 5


def noise_png(side: int) -> bytes:
    buf = io.BytesIO()
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(buf, "PNG")
    return buf.getvalue()


def bench_decode(data: bytes) -> None:
    text = base64.b64encode(data).decode()
    times = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        decode_image(text, "bench")
        times.append(time.perf_counter() - start)
    median_ms = statistics.median(times) * 1e3
    print(f"decode_image {len(text) / 1e6:.1f} MB base64: median {median_ms:.1f} ms")


async def run_with_ticker(engine: Engine, request: GenerationRequest) -> tuple[Run, float]:
    """The run, and the longest gap (s) between ticks of a 5 ms ticker: the loop's worst stall."""
    worst = 0.0

    async def tick() -> None:
        nonlocal worst
        last = time.perf_counter()
        while True:
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            worst, last = max(worst, now - last - 0.005), now

    ticker = asyncio.create_task(tick())
    try:
        return await run_job(engine, request), worst
    finally:
        ticker.cancel()


def bench_engine(partials: int) -> None:
    times, stalls = [], []
    with running() as server, tempfile.TemporaryDirectory() as tmp:
        fake = fake_openai.FakeOpenAI(server, "sk-bench")
        toml = (
            f'[backends.oa]\ntype = "openai"\nbase_url = "{fake.base_url}"\n'
            f"partial_images = {partials}\n"
        )
        for i in range(ROUNDS):
            engine = make_engine(Path(tmp) / str(i), toml, {"OPENAI_API_KEY": "sk-bench"})
            start = time.perf_counter()
            request = GenerationRequest(prompt="fox", backend="oa")
            result, stall = asyncio.run(run_with_ticker(engine, request))
            times.append(time.perf_counter() - start)
            stalls.append(stall)
            assert result.job.state == "done", result.job.error_message
    label = f"{partials} partials (SSE)" if partials else "no stream (JSON)"
    print(
        f"engine round trip, {label}: median {statistics.median(times) * 1e3:.0f} ms "
        f"(min {min(times) * 1e3:.0f}, max {max(times) * 1e3:.0f}; engine start/close "
        f"included); worst event-loop stall {max(stalls) * 1e3:.0f} ms"
    )


def main() -> None:
    big = noise_png(1024)
    print(f"final PNG: {len(big) / 1e6:.2f} MB")
    fake_openai.FINAL_PNG = big
    fake_openai.PARTIAL_PNGS = (big, big, big)
    bench_decode(big)
    bench_engine(0)
    bench_engine(3)


if __name__ == "__main__":
    main()
