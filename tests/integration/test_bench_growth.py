"""The data-growth benchmark's generator (bench/growth.py) leaves a database like a live helpdesk's: the periodic
jobs ran on its simulated clock, so a server started on it has nothing to catch up. Embedded mode only, as the
scenario (it grows one SQLite file)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from bench.growth import grow, moment
from sqlalchemy import Connection, create_engine, func, select
from tests.conftest import make_settings, start

from nixflow.automation.timers import due_ticket_ids
from nixflow.bootstrap import build
from nixflow.domain.envelope import EventContext
from nixflow.ids import uuid7
from nixflow.services import tickets, users
from nixflow.store.db import Tx
from nixflow.store.tables import events

T = TypeVar("T")


async def _helpdesk(database_url: str) -> None:
    """What the scenario sets up before growing: the admin it signs in as, a category, the agent ana in it."""
    async for harness in start(make_settings(database_url)):
        admin = await harness.user("admin", email="bench@example.com", name="Bench")
        created = await harness.client.post("/api/categories", json={"name": "Network"}, headers=admin.headers)
        created.raise_for_status()
        await harness.user("agent", email="ana@example.com", name="ana", category_ids=[created.json()["id"]])


def _read(database_url: str, query: Callable[[Connection], T]) -> T:
    """Read the grown database directly: a server started on it would run its jobs and hide what growth left."""
    engine = create_engine(database_url.replace("+aiosqlite", ""))
    try:
        with engine.connect() as conn:
            return query(conn)
    finally:
        engine.dispose()


async def test_growth_runs_the_periodic_jobs_on_its_clock_and_leaves_nothing_due(sqlite_url: str) -> None:
    await _helpdesk(sqlite_url)
    begin = datetime.now(UTC) - timedelta(days=3)
    assert await grow(sqlite_url, start=begin, to=400) == 400  # 400 tickets: 9.6 simulated hours

    assert _read(sqlite_url, lambda conn: due_ticket_ids(conn, datetime.now(UTC), 10)) == []
    breaches = select(events.c.timestamp).where(events.c.event_type == "sla.breached")
    stamped = _read(sqlite_url, lambda conn: list(conn.execute(breaches).scalars()))
    # Critical tickets breach their 15-minute first response while the growth runs: the job fired on the
    # simulated clock, not all at once at the end.
    assert len([t for t in stamped if t < moment(begin, 400)]) >= 10


async def _leave_pending(database_url: str) -> None:
    """What a server stopped mid-delivery leaves: a ticket whose events are still `pending` (a minute old)."""
    earlier = datetime.now(UTC) - timedelta(minutes=1)
    app = build(make_settings(database_url), clock=lambda: earlier, deliver_inline=False)

    def create(tx: Tx) -> None:
        requester = users.principal_of(users.find_by_email(tx.conn, email="bench@example.com"))
        tickets.create(tx, requester=requester, title="left pending", description="by a server", category_id=None)

    try:
        await app.writer.run(create, EventContext(correlation_id=uuid7(), actor_id=None, source="test"))
    finally:
        await app.stop()


async def test_growth_delivers_what_a_stopped_server_left_pending(sqlite_url: str) -> None:
    await _helpdesk(sqlite_url)
    begin = datetime.now(UTC) - timedelta(days=3)
    await grow(sqlite_url, start=begin, to=100)
    await _leave_pending(sqlite_url)

    assert await asyncio.wait_for(grow(sqlite_url, start=begin, to=200), timeout=300) == 200

    undelivered = select(func.count()).select_from(events).where(events.c.status != "completed")
    assert _read(sqlite_url, lambda conn: conn.execute(undelivered).scalar_one()) == 0
