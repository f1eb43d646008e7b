"""POST /api/tickets against a real embedded-mode server: sequential latency and concurrent throughput.

Run: .venv/bin/python bench/write_path.py [--sequential 1000] [--clients 16] [--requests 4000]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from common import percentiles, server


def sequential(base: str, headers: dict[str, str], count: int) -> list[float]:
    samples = []
    with httpx.Client(base_url=base, headers=headers) as client:
        for i in range(count):
            start = time.perf_counter()
            response = client.post("/api/tickets", json={"title": f"sequential {i}", "description": "printer"})
            samples.append((time.perf_counter() - start) * 1000)
            response.raise_for_status()
    return samples


async def concurrent(base: str, headers: dict[str, str], clients: int, total: int) -> tuple[float, list[float]]:
    samples: list[float] = []
    remaining = iter(range(total))

    async def client_loop() -> None:
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as client:
            for i in remaining:
                start = time.perf_counter()
                response = await client.post("/api/tickets", json={"title": f"concurrent {i}", "description": "vpn"})
                samples.append((time.perf_counter() - start) * 1000)
                response.raise_for_status()

    start = time.perf_counter()
    await asyncio.gather(*[client_loop() for _ in range(clients)])
    return total / (time.perf_counter() - start), samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sequential", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--requests", type=int, default=4000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, server(Path(tmp)) as (base, headers):
        sequential(base, headers, 50)  # warm-up
        seq = sequential(base, headers, args.sequential)
        print(f"POST /api/tickets, {args.sequential} sequential calls: {percentiles(seq)}")
        rate, conc = asyncio.run(concurrent(base, headers, args.clients, args.requests))
        print(
            f"POST /api/tickets, {args.clients} concurrent clients: {rate:.0f} tickets/s; latency {percentiles(conc)}"
        )
        print(f"ratio: concurrent throughput / sequential throughput = {rate / (1000 / (sum(seq) / len(seq))):.2f}x")


if __name__ == "__main__":
    main()
