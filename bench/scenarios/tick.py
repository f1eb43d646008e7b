"""One SLA/escalation tick with 100 and 1,000 due tickets among 10,000 / 100,000 / 1,000,000 open ones.

The approach of bench/periodic_tick.py, in the runner's process: the real job (`sla-and-escalation`) on a real
SQLite file, warmed up, timed once with nothing due, then once per due count. The open, not-due tickets are
bulk-inserted with plain sqlite3 (`executemany`) into a template database kept in the cache and copied per run;
the template is rebuilt when a migration or the tables change.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bench.scenarios import Ctx
from bench.target import nixflow_cli, nixflow_env
from bench.tools import cache_dir, log
from nixflow.bootstrap import build
from nixflow.config import load_settings
from nixflow.store import tables
from nixflow.store.tables import events, tickets

SIZES = (10_000, 100_000, 1_000_000)
QUICK_SIZES = (10_000, 100_000)
DUE_COUNTS = (100, 1_000)
SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy stores a DateTime on SQLite


def run(ctx: Ctx) -> None:
    points: dict[int, list[tuple[float, float]]] = {due: [] for due in DUE_COUNTS}
    for open_count in QUICK_SIZES if ctx.quick else SIZES:
        template = _template(open_count)
        db = ctx.workdir / f"tick-{open_count}.db"
        shutil.copyfile(template, db)
        log(f"tick: {open_count:,} open tickets")
        idle_ms, measured = asyncio.run(_measure(db, open_count, _requester(db)))
        for name in os.listdir(ctx.workdir):
            if name.startswith(db.name):
                os.remove(ctx.workdir / name)
        ctx.results.add(f"nf.tick.{open_count}.0", f"tick, nothing due among {open_count:,} open", "ms", idle_ms)
        for due, (ms, fired, written) in measured.items():
            ctx.results.add(
                f"nf.tick.{open_count}.{due}",
                f"tick, {due:,} due among {open_count:,} open",
                "ms",
                ms,
                note=f"{fired} alarms/escalations fired, {written} events written; {ms / due:.2f} ms per due ticket",
            )
            points[due].append((float(open_count), ms))
    for due, series in points.items():
        ctx.results.series[f"tick {due} due"] = series


def _requester(db: Path) -> int:
    con = sqlite3.connect(db)
    try:
        return int(con.execute("SELECT id FROM users WHERE role = 'requester' LIMIT 1").fetchone()[0])
    finally:
        con.close()


def _schema_key() -> str:
    """Changes when the tables or a migration change, so the template follows the schema."""
    digest = hashlib.sha256(Path(tables.__file__).read_bytes())
    versions = Path(tables.__file__).parent / "migrations" / "versions"
    for path in sorted(versions.glob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def _template(open_count: int) -> Path:
    """A database with `open_count` open tickets, none due for years; built once per schema."""
    path = cache_dir() / f"tick-{open_count}-{_schema_key()}.db"
    if path.exists():
        return path
    for stale in path.parent.glob(f"tick-{open_count}-*.db"):  # an older schema's
        stale.unlink()
    log(f"tick: building the {open_count:,}-ticket template (once, cached in {path.parent})")
    started = time.monotonic()
    tmp = path.with_suffix(".tmp")
    for leftover in tmp.parent.glob(tmp.name + "*"):
        leftover.unlink()
    env = nixflow_env(f"sqlite+aiosqlite:///{tmp}")
    requester = int(nixflow_cli("users", "create", "--email", "requester@example.com", "--name", "Requester",
                                "--role", "requester", "--password", "bench-password-1", env=env))  # fmt: skip
    con = sqlite3.connect(tmp, isolation_level=None)
    con.execute("PRAGMA synchronous=OFF")
    now = datetime.now(UTC)
    con.execute("BEGIN")
    for start in range(1, open_count + 1, 50_000):
        _insert(con, range(start, min(start + 50_000, open_count + 1)), requester, now, due=False)
    con.execute("COMMIT")
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    os.replace(tmp, path)
    log(f"tick: template built in {time.monotonic() - started:.0f} s")
    return path


def _insert(con: sqlite3.Connection, ids: range, requester: int, now: datetime, *, due: bool) -> None:
    """Open, unassigned normal tickets: due (created 250 min ago, next check a minute ago, first response
    breached) or not (created 5 min ago, next check years away: never due in the runs)."""
    columns = [c.name for c in tickets.columns]
    statement = f"INSERT INTO tickets ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    naive = now.astimezone(UTC).replace(tzinfo=None)
    created = naive - timedelta(minutes=250 if due else 5)
    check = naive - timedelta(minutes=1) if due else naive + timedelta(days=3650)
    con.executemany(statement, (_row(i, requester, created, check, columns) for i in ids))


def _row(ticket_id: int, requester: int, created_at: datetime, check: datetime, columns: list[str]) -> tuple[Any, ...]:
    created = created_at.strftime(SQLITE_TIME)
    values: dict[str, Any] = {
        "id": ticket_id,
        "title": f"ticket {ticket_id}",
        "description": "bench",
        "status": "open",
        "priority": "normal",
        "requester_id": requester,
        "approval": "not_required",
        "escalation_level": 0,
        "version": 1,
        "created_at": created,
        "updated_at": created,
        "first_response_due": (created_at + timedelta(minutes=240)).strftime(SQLITE_TIME),
        "resolution_due": (created_at + timedelta(minutes=1440)).strftime(SQLITE_TIME),
        "sla_paused_seconds": 0,
        "sla_state": json.dumps({}),
        "tags": json.dumps([]),
        "fields": json.dumps({}),
        "next_check_at": check.strftime(SQLITE_TIME),
    }
    required = {c.name for c in tickets.columns if not c.nullable}
    unknown = required - values.keys()
    if unknown:
        raise RuntimeError(f"bench/scenarios/tick.py does not know the new column(s) {sorted(unknown)}")
    return tuple(values.get(name) for name in columns)


async def _measure(db: Path, open_count: int, requester: int) -> tuple[float, dict[int, tuple[float, int, int]]]:
    """(ms of a tick with nothing due, {due count: (ms, fired, events written)})."""
    app = build(load_settings(database_url=f"sqlite+aiosqlite:///{db}"))
    try:
        job = next(j for j in app.scheduler.jobs if j.name == "sla-and-escalation")
        now = datetime.now(UTC)
        await job.fn(now - timedelta(minutes=2))  # warm-up: threads, connections, compiled statements
        idle = time.perf_counter()
        await job.fn(now - timedelta(minutes=2))
        idle_ms = (time.perf_counter() - idle) * 1000
        measured: dict[int, tuple[float, int, int]] = {}
        next_id = open_count + 1
        for due in DUE_COUNTS:
            # Beside the writer's own connection (idle between ticks): plain sqlite3, WAL.
            con = sqlite3.connect(db, isolation_level=None, timeout=30)
            con.execute("BEGIN IMMEDIATE")
            _insert(con, range(next_id, next_id + due), requester, now, due=True)
            con.execute("COMMIT")
            before = int(con.execute("SELECT count(*) FROM events").fetchone()[0])
            con.close()
            next_id += due
            start = time.perf_counter()
            fired = await job.fn(now)
            ms = (time.perf_counter() - start) * 1000
            with app.db.read_engine.connect() as conn:
                written = conn.execute(select(func.count()).select_from(events)).scalar_one() - before
            measured[due] = (ms, fired, written)
        return idle_ms, measured
    finally:
        await app.stop()
