"""Numbers for the pool and a1111 adapters over loopback fakes (prints, asserts nothing).

    .venv/bin/python -m tests.bench.pool_bench

- probe: one `pool.loads()` (every member's `/sdapi/v1/progress` at once) for 1, 4 and 16
  members, median of 50;
- job: submit-to-done of one zero-step job through the real Engine (job log, store, PNG
  write) directly on an a1111 instance and through a two-member pool, median of 20;
- spread: 8 jobs of 10 steps x 20 ms over a pool of 1, 2 and 4 idle hosts: wall time and jobs
  per host (the engine's global cap, 4 by default, bounds the parallelism).

All fakes run in this process (one thread each), so on a small machine the numbers include
their own overhead; they compare, they do not predict a real GPU.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import httpx

from tests.fakes.a1111 import FakeA1111
from tests.fakes.server import FakeServer, running
from tests.protocol.a1111_helpers import make_engine, request


def pool_config(urls: list[str]) -> str:
    parts = [
        f'[backends.gpu{i}]\ntype = "a1111"\nbase_url = "{url}"\npoll_s = 0.05\n'
        for i, url in enumerate(urls)
    ]
    members = ", ".join(f'"gpu{i}"' for i in range(len(urls)))
    return "".join(parts) + f'[backends.farm]\ntype = "pool"\nmembers = [{members}]\n'


def start_hosts(stack: ExitStack, count: int, step_s: float = 0.0) -> list[FakeA1111]:
    hosts = [stack.enter_context(running(FakeServer(max_requests=100_000))) for _ in range(count)]
    return [FakeA1111(step_s=step_s).install(host) for host in hosts]


def urls_of(fakes: list[FakeA1111]) -> list[str]:
    return [f.server.url for f in fakes]


async def probe_ms(urls: list[str], tmp: Path) -> float:
    async with httpx.AsyncClient() as http:
        engine = make_engine(tmp, pool_config(urls), http)
        pool = engine.backend("farm")
        times = []
        for _ in range(50):
            start = time.perf_counter()
            await pool.loads(http)  # type: ignore[attr-defined]
            times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


async def job_ms(urls: list[str], tmp: Path, backend: str) -> float:
    async with httpx.AsyncClient() as http:
        engine = make_engine(tmp, pool_config(urls), http)
        await engine.start()
        times = []
        for i in range(20):
            start = time.perf_counter()
            await engine.run(request(backend, prompt=f"fox {i}", steps=1))
            times.append(time.perf_counter() - start)
        await engine.aclose()
    return statistics.median(times) * 1000


async def spread_s(urls: list[str], tmp: Path) -> float:
    async with httpx.AsyncClient() as http:
        engine = make_engine(tmp, pool_config(urls) + "max_concurrent = 8\n", http)
        await engine.start()
        start = time.perf_counter()
        await engine.run(request("farm", steps=10, count=8))
        took = time.perf_counter() - start
        await engine.aclose()
    return took


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for count in (1, 4, 16):
            with ExitStack() as stack:
                urls = urls_of(start_hosts(stack, count))
                ms = asyncio.run(probe_ms(urls, root / f"probe{count}"))
            print(f"probe {count:>2} members: {ms:6.2f} ms median")
        with ExitStack() as stack:
            urls = urls_of(start_hosts(stack, 2))
            direct = asyncio.run(job_ms(urls, root / "direct", "gpu0"))
            pooled = asyncio.run(job_ms(urls, root / "pooled", "farm"))
        print(f"job direct a1111: {direct:6.1f} ms median; through pool: {pooled:6.1f} ms")
        for count in (1, 2, 4):
            with ExitStack() as stack:
                fakes = start_hosts(stack, count, step_s=0.02)
                took = asyncio.run(spread_s(urls_of(fakes), root / f"spread{count}"))
            spread = [len(f.jobs) for f in fakes]
            print(f"8 jobs x 10 steps x 20 ms on {count} host(s): {took:5.2f} s wall, {spread}")


if __name__ == "__main__":
    main()
