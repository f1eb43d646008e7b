"""Grow a NixFlow database the way its users do, fast: the real services (`tickets.create`, `tickets.transition`)
through the real writer, every handler inline (rules, round-robin, SLA, reports, search, counters), 200 tickets
to a unit of work, on a clock that moves through simulated days. So the tables, indexes, counters and events are
exactly those the API writes; only HTTP and one-ticket transactions are skipped.

The periodic jobs (SLA and escalation, workflow deadlines, housekeeping, the outbox sweeper) run as a live
server's would, on the same simulated clock: once a unit of work (about five simulated hours), and, when the
growth ends, once at the real now until nothing is due. Without that, the server measured next would spend its
first minutes firing every backlog ticket's SLA alarms, and the reads and writes would measure that catch-up.

The helpdesk: `RATE` tickets a day, most of them the automated workload ("Core switch is down" in Network:
critical, assigned by round-robin), some "printer" (normal) and "urgent VPN" (high); each resolved after two
days, except every tenth, which stays in the backlog.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from nixflow.bootstrap import NixFlow, build
from nixflow.config import load_settings
from nixflow.domain.envelope import EventContext
from nixflow.domain.tickets import Status
from nixflow.events.bus import InProcessTransport
from nixflow.ids import uuid7
from nixflow.services import tickets, users
from nixflow.store.db import Tx
from nixflow.store.tables import categories
from nixflow.store.tables import tickets as tickets_table
from nixflow.worker import Scheduler

RATE = 1_000  # tickets a day
UNIT = 200  # tickets a unit of work
RESOLVE_AFTER = timedelta(days=2)
TITLES = ("Core switch is down", "Core switch is down", "Core switch is down", "printer jam", "urgent VPN")


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now


def epoch_for(largest: int) -> datetime:
    """Where simulated time starts: the largest size ends a day before the real now."""
    return datetime.now(UTC).replace(microsecond=0) - timedelta(days=largest / RATE + 1)


def moment(start: datetime, ticket_number: int) -> datetime:
    """When the n-th ticket (from 0) is opened."""
    return start + timedelta(days=ticket_number / RATE)


async def grow(database_url: str, *, start: datetime, to: int, settle_now: bool = True) -> int:
    """Add tickets until the database holds `to`; return how many it holds. `settle_now=False` leaves out the
    final ticks at the real now (a slice for bench/replicate.py, whose copies must hold only simulated time)."""
    clock = Clock(start)
    app = build(load_settings(database_url=database_url), clock=clock)
    await app.start(tick=False)  # delivers what a server left pending (the sweeper hands it over), as a server would
    try:
        have, category, requester, agent = app.db.read_sync(_people)
        ctx = EventContext(correlation_id=uuid7(), actor_id=None, source="bench")
        while have < to:
            size = min(UNIT, to - have)
            clock.now = moment(start, have)
            resolve = [t for t in range(have - 2 * RATE + 1, have - 2 * RATE + 1 + size) if t > 0 and t % 10]
            await app.writer.run(lambda tx, s=size, r=resolve: _unit(tx, s, r, category, requester, agent), ctx)
            await tick(app.scheduler, clock.now)
            have += size
        if settle_now:
            clock.now = datetime.now(UTC)
            await settle(app, clock.now)
    finally:
        await app.stop()
    return have


async def tick(scheduler: Scheduler, now: datetime) -> int:
    """Run each periodic job once at `now`; how many items they handled. A failing job fails the growth."""
    done = await scheduler.run_due(now)
    failed = [name for name, items in done.items() if items < 0]
    if failed:
        raise RuntimeError(f"periodic jobs failed during growth: {', '.join(failed)} (see the log)")
    return sum(done.values())


async def settle(app: NixFlow, now: datetime, *, most: int = 100) -> None:
    """Run the periodic jobs at `now` until they find nothing to do (a tick handles a bounded batch), and
    deliver what the sweeper hands over (events a stopped server left pending)."""
    assert isinstance(app.transport, InProcessTransport), "the growth is embedded mode"
    for _ in range(most):
        if not await tick(app.scheduler, now):
            return
        await app.transport.drain()
    raise RuntimeError(f"the periodic jobs still found work after {most} ticks at {now:%Y-%m-%d %H:%M}")


def _people(conn: Any) -> tuple[int, int, Any, Any]:
    have = int(conn.execute(select(func.count()).select_from(tickets_table)).scalar_one())
    category = int(conn.execute(select(categories.c.id).order_by(categories.c.id)).scalars().first())
    admin = users.principal_of(users.find_by_email(conn, email="bench@example.com"))
    agent = users.principal_of(users.find_by_email(conn, email="ana@example.com"))
    return have, category, admin, agent


def _unit(tx: Tx, size: int, resolve: list[int], category: int, requester: Any, agent: Any) -> None:
    for i in range(size):
        title = TITLES[i % len(TITLES)]
        tickets.create(tx, requester=requester, title=title, description="bench growth", category_id=category)
    for ticket_id in resolve:
        for status in (Status.OPEN, Status.RESOLVED):
            tickets.transition(tx, actor=agent, ticket_id=ticket_id, status=status)


if __name__ == "__main__":  # python bench/growth.py URL SIZE: grow one database by hand
    import sys

    url, size = sys.argv[1], int(sys.argv[2])
    print(asyncio.run(grow(url, start=epoch_for(size), to=size)))
