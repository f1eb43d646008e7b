"""Ticket search latency over a large conversation history, in process (the query, not HTTP).

Run: PYTHONPATH=src .venv/bin/python bench/search_latency.py [--comments 100000] [--tickets 10000] [--postgres URL]
Fills a fresh database (SQLite file, or the PostgreSQL database at URL, which it empties first) with tickets and
comments drawn from a small vocabulary plus one rare word per ticket, builds the index the way `nixflow search rebuild`
does, then times `search.query.search` for a rare word, a common word, a phrase and a filtered query, as staff
and as a requester. Prints the build time and the latencies.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, insert, text

sys.path.insert(0, str(Path(__file__).parent))
from common import percentiles

from nixflow.domain.values import Role
from nixflow.search.query import search
from nixflow.services.users import Principal
from nixflow.store.db import make_engine
from nixflow.store.migrate import upgrade
from nixflow.store.tables import comments, tickets, users
from nixflow.store.ticket_index import reindex

WORDS = [
    "printer",
    "network",
    "vpn",
    "laptop",
    "screen",
    "password",
    "mail",
    "outlook",
    "driver",
    "update",
    "restart",
    "cable",
    "dock",
    "battery",
]
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _fill(engine: Engine, n_tickets: int, n_comments: int) -> None:
    rnd = random.Random(25)
    with engine.begin() as conn:
        for uid, role in ((2, "agent"), (3, "requester")):
            row = {"id": uid, "email": f"u{uid}@example.com", "name": f"User {uid}", "role": role}
            conn.execute(insert(users).values(**row, created_at=T0, updated_at=T0))
        common = {"priority": "normal", "approval": "not_required", "version": 1, "created_at": T0, "updated_at": T0}
        conn.execute(
            insert(tickets),
            [
                {
                    "id": i,
                    "title": " ".join(rnd.sample(WORDS, 3)),
                    "description": " ".join(rnd.choices(WORDS, k=12)),
                    "status": rnd.choice(["open", "pending", "resolved"]),
                    "requester_id": 3,
                    "sla_state": {},
                    **common,
                }
                for i in range(1, n_tickets + 1)
            ],
        )
        rows = []
        for c in range(1, n_comments + 1):
            ticket = rnd.randint(1, n_tickets)
            body = " ".join(rnd.choices(WORDS, k=20)) + f" ref{ticket}x"
            rows.append(
                {
                    "id": c,
                    "ticket_id": ticket,
                    "author_id": 2,
                    "body": body,
                    "internal": c % 5 == 0,
                    "created_at": T0,
                    "source": "api",
                }
            )
            if len(rows) == 10_000:
                conn.execute(insert(comments), rows)
                rows = []
        if rows:
            conn.execute(insert(comments), rows)


def _time(engine: Engine, viewer: Principal, query: str, runs: int) -> str:
    samples = []
    found = 0
    for _ in range(runs):
        with engine.connect() as conn:
            start = time.perf_counter()
            found = len(search(conn, viewer=viewer, query=query, limit=20))
            samples.append((time.perf_counter() - start) * 1000)
    return f"{found:>2} hits, {percentiles(samples)}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--comments", type=int, default=100_000)
    parser.add_argument("--tickets", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--postgres", default=None, help="a database URL to empty and use instead of SQLite")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(args.postgres or f"sqlite:///{Path(tmp) / 'bench.db'}", immediate=not args.postgres)
        if args.postgres:
            with engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        upgrade(engine)
        _fill(engine, args.tickets, args.comments)
        start = time.perf_counter()
        with engine.begin() as conn:
            written = reindex(conn)
        if args.postgres:  # as autovacuum would soon: the planner's statistics of the filled tables
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("ANALYZE"))
        print(
            f"{engine.dialect.name}: indexed {written} tickets, {args.comments} comments in "
            f"{time.perf_counter() - start:.1f} s"
        )
        agent = Principal(id=2, role=Role.AGENT, email="u2@example.com", name="User 2")
        requester = Principal(id=3, role=Role.REQUESTER, email="u3@example.com", name="User 3")
        rare = f"ref{args.tickets // 2}x"
        for label, who, query in (
            ("rare word, staff", agent, rare),
            ("rare word, requester", requester, rare),
            ("common word, staff", agent, "printer"),
            ("two common words, staff", agent, "printer vpn"),
            ("phrase, staff", agent, '"printer network"'),
            ("common word + status:open, requester", requester, "laptop status:open"),
        ):
            print(f"{label:<40} {_time(engine, who, query, args.runs)}")
        engine.dispose()


if __name__ == "__main__":
    main()
