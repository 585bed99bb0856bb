"""comfyui adapter overhead: one job's round trip against the loopback fake ComfyUI.

Everything but the GPU: upload-free txt2img, websocket connect, POST /prompt, ~30 frames with
20 sampler steps, history, /view and the full-decode image check. A real server adds its own
work (recorded: 20-95 ms for a trivial workflow on ComfyUI 0.3.64).

Run:  .venv/bin/python -m tests.bench.comfyui_roundtrip [--runs N] [--parallel N]
Prints numbers; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import httpx

from imagen_tui.backends.adapters.comfyui import ComfyUIBackend
from imagen_tui.backends.base import JobContext
from imagen_tui.backends.models import GenerationRequest
from tests.fakes.comfyui import CHECKPOINTS, FakeComfyUI
from tests.fakes.server import FakeServer, running


async def one(be: ComfyUIBackend, client: httpx.AsyncClient, seed: int) -> float:
    ctx = JobContext(f"bench{seed}", be.options, http=lambda: client)
    request = GenerationRequest(prompt="a red fox", width=512, height=512, seed=seed)
    start = time.perf_counter()
    await be.generate(request, ctx)
    return time.perf_counter() - start


async def measure(url: str, runs: int, parallel: int) -> tuple[list[float], float]:
    options = ComfyUIBackend.parse_options({"base_url": url, "checkpoint": CHECKPOINTS[0]})
    be = ComfyUIBackend("bench", options)
    async with httpx.AsyncClient() as client:
        await one(be, client, 0)  # warm imports and the connection pool
        serial = [await one(be, client, seed) for seed in range(1, runs + 1)]
        start = time.perf_counter()
        await asyncio.gather(*(one(be, client, 1000 + i) for i in range(parallel)))
        return serial, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--parallel", type=int, default=8)
    args = parser.parse_args()
    with running(FakeServer()) as server:
        comfy = FakeComfyUI(server)
        comfy.behaviour.steps = 20
        serial, wall = asyncio.run(measure(server.url, args.runs, args.parallel))
    ms = sorted(s * 1000 for s in serial)
    print(
        f"comfyui round trip, {args.runs} serial jobs: median {statistics.median(ms):.1f} ms, "
        f"p90 {ms[int(len(ms) * 0.9) - 1]:.1f} ms, min {ms[0]:.1f} ms"
    )
    print(f"{args.parallel} jobs at once (the fake runs them one by one, like ComfyUI): "
          f"{wall * 1000:.0f} ms wall")  # fmt: skip


if __name__ == "__main__":
    main()
