"""What recording a credential's last use costs a request ("Your sessions", issue 27).

Run: .venv/bin/python bench/session_use.py [--requests 2000] [--postgres URL] [--redis URL]
Each authenticated request calls `NixFlow.note_use`; the ledger lets one write a minute per token through, so
most requests pay a dictionary lookup. Measured beside the alternative of a write per request (a ledger with
a zero window), and, in scale-out, the Redis GET every request now makes before trusting the credential cache.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

from nixflow.bootstrap import NixFlow, build, upgrade_database
from nixflow.config import Settings, load_settings
from nixflow.crypto import keyring
from nixflow.domain.envelope import EventContext
from nixflow.domain.values import Role
from nixflow.ids import uuid7
from nixflow.services import auth, users
from nixflow.services.sessions import Origin, UseLedger
from nixflow.store.db import Tx

ORIGIN = Origin("192.0.2.1", "Firefox on Linux")


async def _token(app: NixFlow) -> str:
    def make(tx: Tx) -> str:
        user = users.create_user(tx, email=f"{uuid7()}@bench.test", name="Bench", role=Role.AGENT, password_hash=None)
        keys = keyring(app.settings)
        return auth.issue_token(tx, keys=keys, user_id=user["id"], kind="api", lifetime=None).token

    return await app.writer.run(make, EventContext(correlation_id=uuid7(), actor_id=None, source="bench"))


async def _per_call_us(n: int, call: Callable[[], Awaitable[object]]) -> float:
    started = time.perf_counter()
    for _ in range(n):
        await call()
    return (time.perf_counter() - started) / n * 1e6


async def measure(label: str, settings: Settings, n: int) -> None:
    upgrade_database(settings)
    app = build(settings)
    try:
        token = await _token(app)
        found = await app.authenticate(token)
        assert found is not None
        authenticate = await _per_call_us(n, lambda: app.authenticate(token))
        app.credentials.ttl = 0  # every entry stale: the database answers each time
        uncached = await _per_call_us(n, lambda: app.authenticate(token))
        ledger = await _per_call_us(n, lambda: app.note_use(found, ORIGIN))
        app.uses = UseLedger(window=timedelta(0))
        every = await _per_call_us(n, lambda: app.note_use(found, ORIGIN))
        print(
            f"{label:<19} authenticate: cached {authenticate:6.1f} µs, from the database {uncached:7.1f} µs"
            f" | last use, once a minute {ledger:5.1f} µs"
            f" | a write per request {every:8.1f} µs ({every / max(ledger, 0.01):,.0f}x)"
        )
    finally:
        await app.stop()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--postgres")
    parser.add_argument("--redis")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        sqlite = load_settings(database_url=f"sqlite+aiosqlite:///{Path(tmp) / 'use.db'}", secret_key="bench")
        await measure("embedded (SQLite)", sqlite, args.requests)
    if args.postgres:
        await measure("PostgreSQL", load_settings(database_url=args.postgres, secret_key="bench"), args.requests)
        if args.redis:
            scaled = load_settings(database_url=args.postgres, redis_url=args.redis, secret_key="bench")
            await measure("PostgreSQL + Redis", scaled, args.requests)


if __name__ == "__main__":
    asyncio.run(main())
