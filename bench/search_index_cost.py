"""What indexing one comment costs as a ticket's conversation grows: at its 1st, 100th and 1,000th comment.

Run: PYTHONPATH=src .venv/bin/python bench/search_index_cost.py [--postgres URL]
Fills a fresh database (SQLite file, or the PostgreSQL database at URL, which it empties first) with one ticket
and, step by step, comments of about 1,000 characters; at each step times the search projection's write of one
new comment (`store.ticket_index.index_pieces`, as the `search.index` handler runs it), median of five. Before
migration 0029 the index rewrote the ticket's whole conversation on each comment: 0.5 / 1.9 / 54 ms on SQLite
and 4.5 / 80 / 626 ms on PostgreSQL at 1 / 100 / 1,000 comments on this 2-core machine.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Connection, insert, text

from nixflow.store.db import make_engine
from nixflow.store.migrate import upgrade
from nixflow.store.tables import comments, tickets, users
from nixflow.store.ticket_index import index_pieces

T0 = datetime(2026, 3, 2, tzinfo=UTC)
BODY = "the printer on the third floor drops its network connection again " * 15  # ~1,000 characters
STEPS = (1, 100, 1_000)


def _comment(conn: Connection, n: int) -> None:
    row = {"id": n, "ticket_id": 1, "author_id": 1, "body": f"{n} {BODY}", "internal": False, "created_at": T0}
    conn.execute(insert(comments).values(**row))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--postgres", default=None, help="a database URL to empty and use instead of SQLite")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(args.postgres or f"sqlite:///{Path(tmp) / 'bench.db'}")
        if args.postgres:
            with engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        upgrade(engine)
        with engine.begin() as conn:
            conn.execute(
                insert(users).values(id=1, email="a@example.com", name="A", role="agent", created_at=T0, updated_at=T0)
            )
            ticket = {"title": "Printer", "description": "offline", "status": "open", "priority": "normal"}
            ticket |= {"requester_id": 1, "approval": "not_required", "version": 1, "sla_state": {}}
            conn.execute(insert(tickets).values(id=1, created_at=T0, updated_at=T0, **ticket))
        written = 0
        for step in STEPS:
            with engine.begin() as conn:  # the conversation so far, indexed
                for n in range(written + 1, step):
                    _comment(conn, n)
                index_pieces(conn, "comment", list(range(written + 1, step)))
            written = step - 1
            samples = []
            for _ in range(5):
                written += 1
                with engine.begin() as conn:
                    _comment(conn, written)
                    start = time.perf_counter()
                    index_pieces(conn, "comment", [written])
                    samples.append((time.perf_counter() - start) * 1000)
            print(f"{engine.dialect.name}: comment {step:>5}: {statistics.median(samples):.2f} ms to index")
        engine.dispose()


if __name__ == "__main__":
    main()
