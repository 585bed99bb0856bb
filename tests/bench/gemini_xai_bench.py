"""Gemini and xAI adapter overhead: jobs through the real Engine against loopback fakes.

Run:  .venv/bin/python tests/bench/gemini_xai_bench.py [--jobs N]
Prints numbers; asserts nothing. The fakes answer at once with a 1024x1024 PNG (Gemini,
streamed) or a JPEG (xAI), so the times are ours: request building, JSON/SSE parsing, base64,
the completeness check, saving, the sidecar and the index. Also: building a request that
carries a 10 MB reference.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from imagen_tui.backends.adapters.gemini import GeminiOptions, encoded_body  # noqa: E402
from imagen_tui.backends.models import GenerationRequest  # noqa: E402
from tests.fakes.gemini import FakeGemini  # noqa: E402
from tests.fakes.server import FakeServer, running  # noqa: E402
from tests.fakes.xai import FakeXai  # noqa: E402
from tests.protocol.cloud_harness import engine_for  # noqa: E402


async def batch(
    tmp: Path, type_name: str, url: str, var: str, jobs: int, **options: object
) -> list[float]:
    tmp.mkdir(parents=True)
    options = {"base_url": url, "max_concurrent": 8, **options}
    rig = engine_for(tmp, type_name, options, env={var: "k"})
    engine = rig.engine
    await engine.start()
    started = time.perf_counter()
    submitted = [engine.submit(GenerationRequest(prompt=f"fox {i}"))[0] for i in range(jobs)]
    done = await engine.wait(submitted)
    wall = time.perf_counter() - started
    await engine.aclose()
    await rig.http.aclose()
    failed = [j.error_message for j in done if j.error_message]
    if failed:
        raise SystemExit(f"{type_name}: {failed[0]}")
    per_job = [(j.finished_at or 0) - (j.started_at or 0) for j in done]
    return [wall, *per_job]


def report(name: str, times: list[float], jobs: int) -> None:
    wall, per_job = times[0], times[1:]
    print(f"{name:7} {jobs} jobs, 8 at a time: {wall:6.2f} s wall, {jobs / wall:6.1f} img/s; "
          f"per job median {statistics.median(per_job) * 1000:6.1f} ms, "
          f"max {max(per_job) * 1000:6.1f} ms")  # fmt: skip


def reference_body(tmp: Path) -> None:
    ref = tmp / "ref.png"
    ref.write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x10\0\0\0\x10" + os.urandom(10**7))
    request = GenerationRequest(prompt="fox", references=(ref,))
    start = time.perf_counter()
    encoded_body(request, None, GeminiOptions())
    took = (time.perf_counter() - start) * 1000
    print(f"gemini  body with a 10 MB reference (read, base64, JSON; off the loop): {took:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=40)
    jobs = parser.parse_args().jobs
    with tempfile.TemporaryDirectory() as tmp, running(FakeServer(max_requests=10_000)) as server:
        gemini = FakeGemini(server, key="k")
        gemini.then(gemini.image())
        xai = FakeXai(server, key="k")
        xai.then(xai.image(width=1024, height=1024))
        g = asyncio.run(
            batch(Path(tmp) / "g", "gemini", server.url + "/v1", "GEMINI_API_KEY", jobs)
        )
        n = asyncio.run(
            batch(
                Path(tmp) / "n", "gemini", server.url + "/v1", "GEMINI_API_KEY", jobs, stream=False
            )
        )
        x = asyncio.run(batch(Path(tmp) / "x", "xai", server.url + "/v1", "XAI_API_KEY", jobs))
        reference_body(Path(tmp))
    report("gemini", g, jobs)
    report("gem/json", n, jobs)
    report("xai", x, jobs)


if __name__ == "__main__":
    main()
