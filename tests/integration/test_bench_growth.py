"""The data-growth benchmark's generator (bench/growth.py) leaves a database like a live helpdesk's: the periodic
jobs ran on its simulated clock, so a server started on it has nothing to catch up. Embedded mode only, as the
scenario (it grows one SQLite file)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bench.growth import grow, moment
from sqlalchemy import Connection, func, select
from tests.conftest import make_settings, start

from nixflow.automation.timers import due_ticket_ids
from nixflow.store.tables import events


async def _helpdesk(database_url: str) -> None:
    """What the scenario sets up before growing: the admin it signs in as, a category, the agent ana in it."""
    async for harness in start(make_settings(database_url)):
        admin = await harness.user("admin", email="bench@example.com", name="Bench")
        created = await harness.client.post("/api/categories", json={"name": "Network"}, headers=admin.headers)
        created.raise_for_status()
        await harness.user("agent", email="ana@example.com", name="ana", category_ids=[created.json()["id"]])


async def test_growth_runs_the_periodic_jobs_on_its_clock_and_leaves_nothing_due(sqlite_url: str) -> None:
    await _helpdesk(sqlite_url)
    begin = datetime.now(UTC) - timedelta(days=3)
    assert await grow(sqlite_url, start=begin, to=400) == 400  # 400 tickets: 9.6 simulated hours

    async for harness in start(make_settings(sqlite_url)):
        db = harness.nixflow.db
        assert await db.read(lambda conn: due_ticket_ids(conn, datetime.now(UTC), 10)) == []

        def breaches(conn: Connection) -> list[datetime]:
            at = select(events.c.timestamp).where(events.c.event_type == "sla.breached").order_by(events.c.seq)
            return list(conn.execute(at).scalars())

        stamped = await db.read(breaches)
        # Critical tickets breach their 15-minute first response while the growth runs: the job fired on the
        # simulated clock, not all at once at the end.
        end = moment(begin, 400)
        assert len([t for t in stamped if t < end]) >= 10
        total = await db.read(lambda conn: conn.execute(select(func.count()).select_from(events)).scalar_one())
        assert total > 400
