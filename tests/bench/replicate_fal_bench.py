"""Replicate and fal adapters through the real Engine against the loopback fakes.

Run:  .venv/bin/python tests/bench/replicate_fal_bench.py [--jobs N]
Prints the engine-side overhead per job (create/submit, 1-3 polls at poll_s = 0.01 s, download,
save with sidecar and index) and the wall time of N concurrent jobs. Asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.fakes.fal import FakeFal  # noqa: E402
from tests.fakes.replicate import FakeReplicate  # noqa: E402
from tests.fakes.server import FakeServer, running  # noqa: E402
from tests.protocol.cloud_engine import CloudRig  # noqa: E402


def rig_for(kind: str, server: FakeServer, tmp: Path) -> CloudRig:
    if kind == "replicate":
        fake: FakeReplicate | FakeFal = FakeReplicate(server, steps=2)
        env = {"REPLICATE_API_TOKEN": fake.key}
    else:
        fake = FakeFal(server, steps=2)
        env = {"FAL_KEY": fake.key}
    options = {"base_url": fake.base_url, "poll_s": 0.01, "max_concurrent": 16}
    return CloudRig(tmp, kind, options, env=env)


async def measure(rig: CloudRig, jobs: int) -> tuple[list[float], float]:
    async with httpx.AsyncClient(timeout=10.0) as http:
        engine = rig.engine(http)
        await engine.start()
        try:
            singles = []
            for i in range(jobs):
                start = time.perf_counter()
                await engine.run(rig.request(f"fox {i}", seed=i))
                singles.append(time.perf_counter() - start)
            start = time.perf_counter()
            await engine.run(rig.request("batch", seed=1, count=jobs))
            return singles, time.perf_counter() - start
        finally:
            await engine.aclose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=20)
    args = parser.parse_args()
    for kind in ("replicate", "fal"):
        with (
            running(FakeServer(max_requests=100 * args.jobs)) as server,
            tempfile.TemporaryDirectory() as tmp,
        ):
            rig = rig_for(kind, server, Path(tmp))
            singles, batch = asyncio.run(measure(rig, args.jobs))
        med = statistics.median(singles) * 1000
        p90 = sorted(singles)[int(len(singles) * 0.9) - 1] * 1000
        print(f"{kind:9s} one job: median {med:6.1f} ms, p90 {p90:6.1f} ms "
              f"(incl. ~{2 * 10} ms of poll sleeps); {args.jobs} concurrent: "
              f"{batch * 1000:6.1f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
