"""One tick of the SLA/escalation job over many open tickets of which few are due.

Run: .venv/bin/python bench/periodic_tick.py [--open 100000] [--due 100]
The job reads due tickets through the index on `tickets.next_check_at`, so the tick should cost about the
same with 1,000 or 100,000 open tickets: it grows with due work, not with open tickets.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, text

from nixflow.bootstrap import build, upgrade_database
from nixflow.config import load_settings
from nixflow.store.tables import events, tickets


def _rows(count: int, *, now: datetime, due: bool, start_id: int) -> list[dict[str, Any]]:
    created = now - timedelta(minutes=250) if due else now - timedelta(minutes=5)
    check = now - timedelta(minutes=1) if due else now + timedelta(hours=3)
    return [
        {
            "id": start_id + i,
            "title": f"ticket {start_id + i}",
            "description": "bench",
            "status": "open",
            "priority": "normal",
            "category_id": None,
            "requester_id": 0,
            "assignee_id": None,
            "approval": "not_required",
            "escalation_level": 0,
            "version": 1,
            "created_at": created,
            "updated_at": created,
            "first_response_due": created + timedelta(minutes=240),
            "resolution_due": created + timedelta(minutes=1440),
            "sla_paused_seconds": 0,
            "sla_state": {},
            "next_check_at": check,
        }
        for i in range(count)
    ]


async def tick(open_count: int, due_count: int, workdir: Path) -> None:
    settings = load_settings(database_url=f"sqlite+aiosqlite:///{workdir / 'tick.db'}")
    upgrade_database(settings)
    app = build(settings)
    now = datetime.now(UTC)
    with app.db.write_engine.begin() as conn:
        for start in range(0, open_count - due_count, 10_000):
            size = min(10_000, open_count - due_count - start)
            conn.execute(insert(tickets), _rows(size, now=now, due=False, start_id=start + 1))
        conn.execute(insert(tickets), _rows(due_count, now=now, due=True, start_id=open_count - due_count + 1))
    with app.db.read_engine.connect() as conn:
        plan = conn.execute(
            text("EXPLAIN QUERY PLAN SELECT id FROM tickets WHERE next_check_at <= :now ORDER BY next_check_at"),
            {"now": now.replace(tzinfo=None).isoformat(sep=" ")},
        ).all()
    job = next(j for j in app.scheduler.jobs if j.name == "sla-and-escalation")
    await job.fn(now - timedelta(minutes=2))  # warm-up: threads, connections, compiled statements
    idle = time.perf_counter()
    await job.fn(now - timedelta(minutes=2))  # nothing due yet: the cost of looking
    idle_ms = (time.perf_counter() - idle) * 1000
    start, cpu = time.perf_counter(), time.process_time()
    fired = await job.fn(now)
    busy_ms = (time.perf_counter() - start) * 1000
    busy_cpu_ms = (time.process_time() - cpu) * 1000
    again = time.perf_counter()
    fired_again = await job.fn(now)
    again_ms = (time.perf_counter() - again) * 1000
    with app.db.read_engine.connect() as conn:
        emitted = conn.execute(select(func.count()).select_from(events)).scalar_one()
    await app.stop()
    print(f"{open_count:,} open tickets, {due_count} due; query plan: {plan[-1][-1]}")
    print(f"tick with nothing due: {idle_ms:.1f} ms")
    print(
        f"tick with {due_count} due: {busy_ms:.1f} ms ({fired} alarms/escalations fired, {emitted} events written);"
        f" {busy_ms / max(due_count, 1):.2f} ms per due ticket; CPU {busy_cpu_ms:.1f} ms (the process, all threads)"
    )
    print(f"second tick at the same time: {again_ms:.1f} ms, fired {fired_again} (each event fires once)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--open", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(tick(args.open, args.due, Path(tmp)))


if __name__ == "__main__":
    main()
