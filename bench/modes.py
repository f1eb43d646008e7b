"""Embedded vs scale-out, same workload, one run: tickets/s and POST -> `ticket.assigned` latency.

Needs PostgreSQL and Redis: `source scripts/services.sh start` first.
Run: .venv/bin/python bench/modes.py [--tickets 600] [--clients 8]

Each setup gets a fresh database. Clients post "switch N is down" tickets in a category of three
agents (each becomes critical and is assigned by round-robin). Throughput counts from the first POST
to the last assignment's commit; latency is each ticket's POST send time to its `ticket.assigned`
event's commit timestamp (one machine, one clock).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).parent.parent))
sys.path.insert(0, str(Path(__file__).parent))
from common import CREATE_ADMIN, PASSWORD, percentiles
from tests.scaleout.cluster import Cluster, free_port, wait_until

from nixflow.store.db import sync_url


def fresh_postgres_database(name: str) -> str:
    url = os.environ["NIXFLOW_TEST_POSTGRES_URL"]
    admin = create_engine(sync_url(url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return url.rsplit("/", 1)[0] + "/" + name


def arrange(base: str) -> tuple[dict[str, str], int]:
    admin = httpx.post(f"{base}/api/auth/login", json={"email": "bench@example.com", "password": PASSWORD}).json()
    headers = {"Authorization": f"Bearer {admin['token']}"}
    category = httpx.post(f"{base}/api/categories", json={"name": "Network"}, headers=headers).json()["id"]
    for name in ("ana", "ben", "cleo"):
        httpx.post(
            f"{base}/api/users",
            headers=headers,
            json={
                "email": f"{name}@example.com",
                "name": name,
                "role": "agent",
                "password": PASSWORD,
                "category_ids": [category],
            },
        ).raise_for_status()
    return headers, category


async def burst(
    bases: list[str], headers: dict[str, str], category: int, count: int, clients: int
) -> dict[int, datetime]:
    sent: dict[int, datetime] = {}
    numbers = iter(range(count))
    cycle = itertools.cycle(bases)

    async def client() -> None:
        async with httpx.AsyncClient(timeout=60, headers=headers) as http:
            for n in numbers:
                at = datetime.now(UTC)
                response = await http.post(
                    f"{next(cycle)}/api/tickets",
                    json={"title": f"switch {n} is down", "description": "rack 4", "category_id": category},
                )
                response.raise_for_status()
                sent[response.json()["id"]] = at

    await asyncio.gather(*[client() for _ in range(clients)])
    return sent


def measure(label: str, database_url: str, bases: list[str], count: int, clients: int) -> str:
    headers, category = arrange(bases[0])
    engine = create_engine(sync_url(database_url).replace("+aiosqlite", ""))
    started = datetime.now(UTC)
    sent = asyncio.run(burst(bases, headers, category, count, clients))

    def all_assigned() -> bool:
        with engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM tickets WHERE assignee_id IS NOT NULL")).scalar() == count

    wait_until(all_assigned, timeout=600, what="every ticket assigned", interval=0.2)
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT aggregate_id, timestamp FROM events WHERE event_type = 'ticket.assigned'")
        ).all()
    engine.dispose()
    assigned = {int(r[0]): (r[1] if isinstance(r[1], datetime) else datetime.fromisoformat(str(r[1]))) for r in rows}
    assigned = {k: (v if v.tzinfo else v.replace(tzinfo=UTC)) for k, v in assigned.items()}
    latencies = [(assigned[t] - sent[t]).total_seconds() * 1000 for t in sent]
    elapsed = (max(assigned.values()) - started).total_seconds()
    return f"{label:<28} {count / elapsed:8.0f} tickets/s   POST -> ticket.assigned: {percentiles(latencies)}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tickets", type=int, default=600)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        sqlite_url = f"sqlite+aiosqlite:///{workdir / 'embedded.db'}"
        setups = [
            ("embedded (SQLite, 1 process)", 0, 0),
            ("scale-out 1 API + 1 worker", 1, 1),
            ("scale-out 2 APIs + 2 workers", 2, 2),
        ]
        for label, apis, workers in setups:
            if apis == 0:
                env = {"NIXFLOW_DATABASE_URL": sqlite_url}
            else:
                env = {
                    "NIXFLOW_DATABASE_URL": fresh_postgres_database(f"nixflow_bench_{apis}x{workers}"),
                    "NIXFLOW_REDIS_URL": os.environ["NIXFLOW_TEST_REDIS_URL"],
                    "NIXFLOW_REDIS_PREFIX": f"bench-{apis}x{workers}-{int(time.time())}",
                }
            cluster = Cluster(workdir, env)
            cluster.cli(*CREATE_ADMIN)
            try:
                if apis == 0:
                    bases = [cluster.start_api_process(["serve", "--port", str(free_port())])]
                else:
                    bases = [cluster.start_api() for _ in range(apis)]
                    for _ in range(workers):
                        cluster.start_worker()
                results.append(measure(label, env["NIXFLOW_DATABASE_URL"], bases, args.tickets, args.clients))
                print(results[-1], flush=True)
            finally:
                cluster.stop()
    print(f"\n{args.tickets} tickets, {args.clients} concurrent clients, one 2-core machine (clients included):")
    print("\n".join(results))


if __name__ == "__main__":
    main()
