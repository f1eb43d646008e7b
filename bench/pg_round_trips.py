"""PostgreSQL round trips, statements and CPU per automated ticket, in process.

Run: NIXFLOW_TEST_POSTGRES_URL=... NIXFLOW_TEST_REDIS_URL=... python -m bench.pg_round_trips [--tickets 200]

The workload of the embedded scenario ("Core switch is down" in a category of three agents: the default rules
raise its priority and assign it round-robin), each ticket opened by the unit of work `POST /api/tickets` runs
(`tickets.create`, its automation inline, the ticket read back), one after another through the PostgreSQL writer
of a fresh database. libpq traces every protocol message of every pooled connection (`PGconn.trace`): a round
trip is the client sending and then waiting for the server (a run of frontend messages followed by backend ones),
a statement a `Query` or an `Execute` message. CPU, over as many tickets again without the trace:
`time.process_time()` of this process and the `/proc` times of the PostgreSQL backends that served it.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from psycopg.pq import Trace
from sqlalchemy import create_engine, event, text
from sqlalchemy.pool import NullPool

from bench.target import AGENTS, CATEGORY, TITLE
from nixflow.bootstrap import NixFlow, build
from nixflow.config import load_settings
from nixflow.domain.envelope import EventContext
from nixflow.domain.values import Role
from nixflow.ids import uuid7
from nixflow.services import tickets, users
from nixflow.store.db import Tx, sync_url
from nixflow.store.migrate import upgrade
from nixflow.store.writer import ReadBack

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Traffic:
    """What libpq's trace shows: round trips and statements."""

    round_trips: int = 0
    statements: int = 0

    def add(self, trace: str) -> None:
        sending = False
        for line in trace.splitlines():
            parts = line.split("\t")
            if parts[0] == "F":
                sending = True
                self.statements += len(parts) > 2 and parts[2] in ("Query", "Execute")
            elif parts[0] == "B" and sending:
                self.round_trips += 1
                sending = False


@contextmanager
def fresh_database(url: str) -> Iterator[str]:
    """A new, migrated database on the server of `url`, dropped afterwards."""
    name = f"nixflow_rt_{uuid7().replace('-', '')[-12:]}"
    admin = create_engine(sync_url(url), isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    target = url.rsplit("/", 1)[0] + "/" + name
    try:
        engine = create_engine(sync_url(target), poolclass=NullPool)
        upgrade(engine)
        engine.dispose()
        yield target
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def _backend_cpu(pids: set[int]) -> float:
    """CPU seconds (user + system) the PostgreSQL backends have used so far."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / CLOCK_TICKS


@contextmanager
def _traced(connections: list[Any], trace_dir: Path, traffic: Traffic) -> Iterator[None]:
    """libpq's trace of every connection the pool holds (sequential work keeps to those) while the body runs."""
    paths = []
    for n, connection in enumerate(connections):
        path = trace_dir / f"trace-{n}.txt"
        with path.open("w") as handle:
            connection.pgconn.trace(os.dup(handle.fileno()))  # libpq's own FILE, on a descriptor of its own
        connection.pgconn.set_trace_flags(Trace.SUPPRESS_TIMESTAMPS)
        paths.append(path)
    try:
        yield
    finally:
        for connection in connections[: len(paths)]:
            connection.pgconn.untrace()  # flushes libpq's buffer
        for path in paths:
            traffic.add(path.read_text())


def _set_up(app: NixFlow) -> tuple[Any, int]:
    ctx = EventContext(correlation_id=uuid7(), actor_id=None, source="bench")

    def arrange(tx: Tx) -> tuple[Any, int]:
        agents = [
            users.create_user(tx, email=f"{n}@example.com", name=n, role=Role.AGENT, password_hash=None)["id"]
            for n in AGENTS
        ]
        category = users.create_category(tx, name=CATEGORY, agent_ids=agents)["id"]
        admin = users.create_user(tx, email="bench@example.com", name="Bench", role=Role.ADMIN, password_hash=None)
        return users.principal_of(users.find_by_email(tx.conn, email=admin["email"])), int(category)

    return app.writer.run_sync(arrange, ctx)


def _open(app: NixFlow, requester: Any, category: int, n: int) -> None:
    """One ticket as `POST /api/tickets` opens it: created, automated inline, read back."""

    def create(tx: Tx) -> ReadBack[dict[str, Any]]:
        made = tickets.create(tx, requester=requester, title=TITLE, description=f"rt {n}", category_id=category)
        return tickets.committed(tx, ticket_id=int(made["id"]))

    ticket = app.writer.run_sync(create, EventContext(correlation_id=uuid7(), actor_id=requester.id, source="api"))
    assert ticket["assignee_id"] is not None and ticket["priority"] == "critical", ticket


def measure(url: str, redis_url: str | None, count: int, trace_dir: Path) -> None:
    """Open `count` automated tickets after a warm-up; print round trips, statements and CPU per ticket."""
    settings = load_settings(database_url=url, redis_url=redis_url, redis_prefix=f"rt-{uuid7()[-8:]}",
                             secret_key="bench-secret", env="test")  # fmt: skip
    app = build(settings)
    pids: set[int] = set()
    connections: list[Any] = []

    @event.listens_for(app.db.write_engine, "connect")
    def _connected(dbapi_connection: Any, _record: Any) -> None:
        pids.add(dbapi_connection.info.backend_pid)
        connections.append(dbapi_connection)

    traffic = Traffic()
    try:
        requester, category = _set_up(app)
        for n in range(20):  # warm-up: statement caches, prepared statements, the rule memo
            _open(app, requester, category, n)
        python, backend = time.process_time(), _backend_cpu(pids)  # untraced: libpq's trace costs CPU
        for n in range(count):
            _open(app, requester, category, n)
        python, backend = time.process_time() - python, _backend_cpu(pids) - backend
        with _traced(connections, trace_dir, traffic):
            for n in range(count):
                _open(app, requester, category, n)
    finally:
        app.writer.close()
        app.db.dispose()
    print(f"{count} automated tickets on PostgreSQL, one after another ({len(connections)} connections)")
    print(f"  round trips per ticket: {traffic.round_trips / count:.2f}")
    print(f"  statements per ticket:  {traffic.statements / count:.2f}")
    print(f"  CPU per ticket: Python {python * 1000 / count:.2f} ms + PostgreSQL backend "
          f"{backend * 1000 / count:.2f} ms = {(python + backend) * 1000 / count:.2f} ms")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tickets", type=int, default=200)
    parser.add_argument("--postgres", default=os.environ.get("NIXFLOW_TEST_POSTGRES_URL"))
    parser.add_argument("--redis", default=os.environ.get("NIXFLOW_TEST_REDIS_URL"))
    args = parser.parse_args()
    if not args.postgres:
        raise SystemExit("--postgres (or NIXFLOW_TEST_POSTGRES_URL) names the PostgreSQL server")
    with fresh_database(args.postgres) as url, tempfile.TemporaryDirectory() as tmp:
        measure(url, args.redis, args.tickets, Path(tmp))


if __name__ == "__main__":
    main()
