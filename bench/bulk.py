"""Bulk actions against a real embedded-mode server: tickets per second through `POST /api/tickets/bulk` beside the
same change made by single `POST /api/tickets/{id}/update` calls.

Run: PYTHONPATH=src .venv/bin/python bench/bulk.py [--tickets 1000] [--chunk 50] [--clients 16]
     [--actions '{"status": "open", "priority": "high", "add_tags": ["bench"]}']

Each measurement gets its own fresh tickets (new, normal, untagged), so every call changes something. `--actions`
is the bulk body's `actions` (a macro variant once macros can be bulk-applied); the single calls send the same
fields as a one-submit body. Prints each rate and the ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from common import server

DEFAULT_ACTIONS = {"status": "open", "priority": "high", "add_tags": ["bench"]}


async def _make(client: httpx.AsyncClient, count: int, clients: int = 16) -> list[int]:
    made: list[int] = []
    numbers = iter(range(count))

    async def loop() -> None:
        for i in numbers:
            response = await client.post("/api/tickets", json={"title": f"bulk bench {i}", "description": "printer"})
            response.raise_for_status()
            made.append(int(response.json()["id"]))

    await asyncio.gather(*[loop() for _ in range(clients)])
    return sorted(made)


async def _bulk(client: httpx.AsyncClient, ids: list[int], actions: dict[str, Any], chunk: int) -> float:
    start = time.perf_counter()
    for at in range(0, len(ids), chunk):
        response = await client.post("/api/tickets/bulk", json={"ticket_ids": ids[at : at + chunk], "actions": actions})
        response.raise_for_status()
        failed = response.json()["failed"]
        if failed:
            raise SystemExit(f"{failed} tickets failed: {response.json()['results'][:3]}")
    return len(ids) / (time.perf_counter() - start)


async def _single(client: httpx.AsyncClient, ids: list[int], actions: dict[str, Any], clients: int) -> float:
    remaining = iter(ids)

    async def loop() -> None:
        for ticket_id in remaining:
            response = await client.post(f"/api/tickets/{ticket_id}/update", json=actions)
            response.raise_for_status()

    start = time.perf_counter()
    await asyncio.gather(*[loop() for _ in range(clients)])
    return len(ids) / (time.perf_counter() - start)


async def run(base: str, headers: dict[str, str], args: argparse.Namespace) -> None:
    actions = json.loads(args.actions)
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=120) as client:
        warm = await _make(client, 50)
        await _single(client, warm, actions, 1)
        rates: dict[str, float] = {}
        plans = [
            (f"bulk, chunks of {args.chunk} (the queue page)", lambda ids: _bulk(client, ids, actions, args.chunk)),
            (f"bulk, one request of {args.tickets}", lambda ids: _bulk(client, ids, actions, args.tickets)),
            ("single /update calls, one at a time", lambda ids: _single(client, ids, actions, 1)),
            (f"single /update calls, {args.clients} clients", lambda ids: _single(client, ids, actions, args.clients)),
        ]
        for label, measure in plans:
            ids = await _make(client, args.tickets)
            rates[label] = await measure(ids)
            print(f"{label}: {rates[label]:.0f} tickets/s")
    bulk_rate, sequential, concurrent = rates[plans[0][0]], rates[plans[2][0]], rates[plans[3][0]]
    print(f"actions: {json.dumps(actions)}; {args.tickets} tickets a measurement")
    print(f"ratio: bulk (chunks of {args.chunk}) / sequential single calls = {bulk_rate / sequential:.2f}x")
    print(f"ratio: bulk (chunks of {args.chunk}) / {args.clients} concurrent clients = {bulk_rate / concurrent:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=1000)
    parser.add_argument("--chunk", type=int, default=50)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--actions", default=json.dumps(DEFAULT_ACTIONS), help="the bulk body's `actions`, as JSON")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, server(Path(tmp)) as (base, headers):
        asyncio.run(run(base, headers, args))


if __name__ == "__main__":
    main()
