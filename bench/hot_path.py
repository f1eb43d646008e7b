"""CPU per automated ticket in one embedded process: the hot path without HTTP sockets, wrk or a peer.

The app runs in this process (httpx's ASGITransport, the real lifespan: writer, consumer, timers) on a fresh
SQLite file. Each round POSTs `--tickets` automated tickets ("Core switch is down" in Network: the default rule
makes it critical, round-robin assigns it, the SLA starts) one after the other, waits until every event is
handled, and reports `time.process_time()` (every thread of the process) per ticket. The median of the rounds
is stable on a loaded machine, where wall-clock rates are not.

Run: PYTHONPATH=src .venv/bin/python -m bench.hot_path [--rounds 7] [--tickets 200] [--profile out.raw]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

import httpx
import uvloop
from asgi_lifespan import LifespanManager

from bench import profile
from bench.target import ADMIN_EMAIL, AGENTS, CATEGORY, PASSWORD, TITLE, Database, create_admin, nixflow_env
from nixflow.app import create_app
from nixflow.config import load_settings


async def _set_up(api: httpx.AsyncClient) -> int:
    """Sign in as the admin; the category Network and its three agents. The category's id."""
    login = await api.post("/api/auth/login", json={"email": ADMIN_EMAIL, "password": PASSWORD})
    login.raise_for_status()
    api.headers["Authorization"] = f"Bearer {login.json()['token']}"
    created = await api.post("/api/categories", json={"name": CATEGORY})
    created.raise_for_status()
    category = int(created.json()["id"])
    for name in AGENTS:
        body = {"email": f"{name}@example.com", "name": name, "role": "agent", "password": PASSWORD,
                "category_ids": [category]}  # fmt: skip
        (await api.post("/api/users", json=body)).raise_for_status()
    return category


async def _round(api: httpx.AsyncClient, database: Database, category: int, count: int, clients: int) -> float:
    """Seconds of CPU per ticket for `count` automated tickets from `clients` concurrent callers, each ticket
    handled to its last event."""
    numbers = iter(range(count))

    async def caller() -> None:
        for i in numbers:
            created = await api.post("/api/tickets", json={"title": TITLE, "description": f"hot {i}",
                                                           "category_id": category})  # fmt: skip
            created.raise_for_status()

    start = time.process_time()
    await asyncio.gather(*(caller() for _ in range(clients)))
    # The consumer's handlers run on this process's threads too; the database is the only sign they are done.
    while database.unfinished_events():  # noqa: ASYNC110
        await asyncio.sleep(0.02)
    return (time.process_time() - start) / count


async def measure(workdir: Path, *, rounds: int, tickets: int, clients: int, profile_to: Path | None) -> list[float]:
    """CPU seconds per ticket of each measured round (one warm-up round first, not counted)."""
    db_file = workdir / "hot.db"
    env = nixflow_env(f"sqlite+aiosqlite:///{db_file}")
    create_admin(env)
    settings = load_settings(database_url=env["NIXFLOW_DATABASE_URL"], secret_key="bench-hot-path")
    app = create_app(settings, migrate=False)
    database = Database(f"sqlite:///{db_file}")
    try:
        async with (
            LifespanManager(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://nixflow.bench", timeout=60
            ) as api,
        ):
            category = await _set_up(api)
            await _round(api, database, category, tickets, clients)
            if profile_to is not None:
                with profile.profiled(os.getpid(), profile_to):
                    return [await _round(api, database, category, tickets, clients) for _ in range(rounds)]
            return [await _round(api, database, category, tickets, clients) for _ in range(rounds)]
    finally:
        database.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--tickets", type=int, default=200)
    parser.add_argument("--clients", type=int, default=32, help="concurrent callers (1: a unit of work per ticket)")
    parser.add_argument("--profile", type=Path, help="py-spy's raw output here (the figures are then not clean)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        # uvloop, as `nixflow serve` runs
        per_ticket = uvloop.run(measure(Path(tmp), rounds=args.rounds, tickets=args.tickets, clients=args.clients,
                                         profile_to=args.profile))  # fmt: skip
    ms = sorted(1000 * s for s in per_ticket)
    print(f"CPU per automated ticket (process_time, {args.rounds} rounds of {args.tickets}, "
          f"{args.clients} clients): "
          f"median {statistics.median(ms):.3f} ms, min {ms[0]:.3f}, max {ms[-1]:.3f}")  # fmt: skip
    if args.profile is not None and args.profile.exists():
        print("\n".join(profile.markdown("in-process POST /api/tickets (automated)", profile.summarise(args.profile))))


if __name__ == "__main__":
    main()
