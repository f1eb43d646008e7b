"""Bulk actions against a real embedded-mode server: tickets per second through `POST /api/tickets/bulk` beside the
same change made by single `POST /api/tickets/{id}/update` calls.

Run: PYTHONPATH=src .venv/bin/python bench/bulk.py [--tickets 1000] [--chunk 50] [--clients 16]
     [--actions '{"status": "open", "priority": "high", "add_tags": ["bench"]}'] [--macro]

Each measurement gets its own fresh tickets (new, normal, untagged), so every call changes something. `--actions`
is the bulk body's `actions`; the single calls send the same fields as a one-submit body. `--macro` measures a
macro instead: a reply with the requester's name filled in, a tag, an assignee and a status move, bulk-applied
(`{"macro_id": ...}`) beside single `POST /api/tickets/{id}/macros/{macro_id}/apply` calls. Prints each rate and
the ratios.
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
MACRO_REPLY = "Hello {{ requester.name }}, we are looking into #{{ ticket.id }} ({{ ticket.title }})."


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
    """The same change made one ticket at a time: the one submit, or applying the macro."""
    remaining = iter(ids)
    macro_id = actions.get("macro_id")

    async def loop() -> None:
        for ticket_id in remaining:
            if macro_id is None:
                response = await client.post(f"/api/tickets/{ticket_id}/update", json=actions)
            else:
                response = await client.post(f"/api/tickets/{ticket_id}/macros/{macro_id}/apply", json={})
            response.raise_for_status()

    start = time.perf_counter()
    await asyncio.gather(*[loop() for _ in range(clients)])
    return len(ids) / (time.perf_counter() - start)


async def _macro(client: httpx.AsyncClient) -> dict[str, Any]:
    """Bulk actions that apply a macro: a reply, a tag, an assignee (the bench's own user) and a move to open."""
    me = (await client.get("/api/auth/me")).raise_for_status().json()
    actions = {"add_tags": ["bench-macro"], "assignee_id": me["id"], "status": "open"}
    body = {"name": "bench macro", "scope": "everyone", "body": MACRO_REPLY, "actions": actions}
    macro = (await client.post("/api/macros", json=body)).raise_for_status().json()
    return {"macro_id": macro["id"]}


PLANS = ("bulk, chunks", "bulk, one request", "single calls, one at a time", "single calls, concurrent")


async def measure(
    base: str, headers: dict[str, str], *, macro: bool, actions: dict[str, Any], tickets: int, chunk: int, clients: int
) -> tuple[dict[str, Any], dict[str, float]]:
    """The actions sent and each plan's rate (tickets per second), each on its own fresh tickets."""
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=120) as client:
        if macro:
            actions = await _macro(client)
        warm = await _make(client, 50)
        await _single(client, warm, actions, 1)
        runs = {
            PLANS[0]: lambda ids: _bulk(client, ids, actions, chunk),
            PLANS[1]: lambda ids: _bulk(client, ids, actions, tickets),
            PLANS[2]: lambda ids: _single(client, ids, actions, 1),
            PLANS[3]: lambda ids: _single(client, ids, actions, clients),
        }
        rates: dict[str, float] = {}
        for plan, run in runs.items():
            rates[plan] = await run(await _make(client, tickets))
    return actions, rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=1000)
    parser.add_argument("--chunk", type=int, default=50)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--actions", default=json.dumps(DEFAULT_ACTIONS), help="the bulk body's `actions`, as JSON")
    parser.add_argument("--macro", action="store_true", help="apply a macro (reply, tag, assignee, status) instead")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, server(Path(tmp)) as (base, headers):
        actions, rates = asyncio.run(
            measure(
                base,
                headers,
                macro=args.macro,
                actions=json.loads(args.actions),
                tickets=args.tickets,
                chunk=args.chunk,
                clients=args.clients,
            )
        )
    labels = [f"bulk, chunks of {args.chunk} (the queue page)", f"bulk, one request of {args.tickets}"]
    labels += ["single calls, one at a time", f"single calls, {args.clients} clients"]
    for label, plan in zip(labels, PLANS, strict=True):
        print(f"{label}: {rates[plan]:.0f} tickets/s")
    print(f"actions: {json.dumps(actions)}; {args.tickets} tickets a measurement")
    chunked, sequential, concurrent = rates[PLANS[0]], rates[PLANS[2]], rates[PLANS[3]]
    print(f"ratio: bulk (chunks of {args.chunk}) / sequential single calls = {chunked / sequential:.2f}x")
    print(f"ratio: bulk (chunks of {args.chunk}) / {args.clients} concurrent clients = {chunked / concurrent:.2f}x")


if __name__ == "__main__":
    main()
