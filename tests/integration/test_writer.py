"""The writers: on SQLite a turn is bounded in time and WAL checkpoints happen beside it, not in its commits; on
PostgreSQL a unit that lost a race it never chose runs again."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.pool import NullPool

from nixflow.domain.envelope import EventContext
from nixflow.domain.errors import ChangedMeanwhile, StaleVersion
from nixflow.domain.values import Role
from nixflow.ids import utcnow
from nixflow.services import tickets, users
from nixflow.services.users import Principal
from nixflow.store.db import Database, Tx, sync_url
from nixflow.store.migrate import upgrade
from nixflow.store.tables import SYSTEM_USER_ID
from nixflow.store.writer import PooledWriter, SerialWriter

CTX = EventContext(correlation_id="writer-test", actor_id=None, source="test")


def _database(tmp_path: Path) -> Database:
    db = Database(f"sqlite:///{tmp_path / 'writer.db'}")
    upgrade(db.write_engine)
    return db


async def test_a_long_batch_is_committed_in_turns_so_early_requests_do_not_wait_for_it(tmp_path: Path) -> None:
    db = _database(tmp_path)
    writer = SerialWriter(db, utcnow)
    try:

        def slow(tx: Tx) -> object:
            time.sleep(0.005)
            return tx.now  # every job of one turn shares its transaction's clock

        futures = [writer.submit(slow, CTX) for _ in range(40)]
        turns = {await asyncio.wrap_future(f) for f in futures}
        # 40 jobs of 5 ms in turns of 20 ms: several commits, not one 200 ms transaction.
        assert len(turns) >= 4
    finally:
        writer.close()
        db.dispose()


def test_the_writer_never_checkpoints_and_the_log_still_reaches_the_database_file(tmp_path: Path) -> None:
    db = _database(tmp_path)
    writer = SerialWriter(db, utcnow)
    try:
        with db.write_engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0
        size_before = (tmp_path / "writer.db").stat().st_size
        writer.run_sync(
            lambda tx: tx.conn.exec_driver_sql(
                "CREATE TABLE filler AS WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000)"
                " SELECT i, hex(randomblob(64)) AS pad FROM n"
            ),
            CTX,
        )
        for _ in range(100):  # the checkpointer runs every 0.5 s
            if (tmp_path / "writer.db").stat().st_size > size_before + 1_000_000:
                break
            time.sleep(0.05)
        assert (tmp_path / "writer.db").stat().st_size > size_before + 1_000_000
    finally:
        writer.close()
        db.dispose()


class Rival:
    """A second connection that changes a ticket while a unit of work waits between its read and its write.

    The unit calls `after_read`; for each of the first `changes` reads it waits there until `change` has
    committed an UPDATE of the ticket on the other connection, so the unit's optimistic write meets PostgreSQL's
    own newer row version."""

    def __init__(self, engine: Engine, ticket_id: int, changes: int) -> None:
        self.engine = engine
        self.ticket_id = ticket_id
        self.changes = changes
        self.reads = 0
        self.read = threading.Event()
        self.changed = threading.Event()

    def after_read(self) -> None:
        self.reads += 1
        if self.reads > self.changes:
            return
        self.read.set()
        assert self.changed.wait(30), "the other connection never committed its change"
        self.changed.clear()

    async def change(self, title: str) -> None:
        """Once the unit has read the ticket, commit a change of it from the other connection."""
        assert await asyncio.to_thread(self.read.wait, 30), "the unit of work never read the ticket"
        self.read.clear()
        with self.engine.begin() as conn:
            conn.execute(
                text("UPDATE tickets SET title = :title, version = version + 1 WHERE id = :id"),
                {"title": title, "id": self.ticket_id},
            )
        self.changed.set()


def _requester_and_ticket(tx: Tx) -> tuple[Principal, int]:
    made = users.create_user(
        tx, email="rita@example.com", name="Rita", role=Role.REQUESTER, password_hash="x", category_ids=[]
    )
    requester = Principal(made["id"], Role.REQUESTER, "rita@example.com", "Rita")
    ticket = tickets.create(tx, requester=requester, title="Printer jams", description="floor 2")
    return requester, int(ticket["id"])


@pytest.mark.postgres
async def test_a_unit_that_lost_a_race_to_another_connection_runs_again_and_a_stale_version_does_not(
    postgres_database: str,
) -> None:
    db = Database(postgres_database)
    writer = PooledWriter(db, utcnow)
    agent = Principal(SYSTEM_USER_ID, Role.SYSTEM, "system@nixflow", "NixFlow automation")
    other = create_engine(sync_url(postgres_database), poolclass=NullPool)  # the second connection's
    try:
        _requester, ticket_id = await writer.run(_requester_and_ticket, CTX)

        def raise_priority(rival: Rival, priority: str, version: int | None = None) -> Callable[[Tx], dict[str, Any]]:
            def unit(tx: Tx) -> dict[str, Any]:
                tickets.current(tx, ticket_id=ticket_id)  # the read the write is checked against
                rival.after_read()
                changes = {"priority": priority}
                return tickets.update_fields(tx, actor=agent, ticket_id=ticket_id, version=version, changes=changes)

            return unit

        once = Rival(other, ticket_id, changes=1)
        running = asyncio.ensure_future(writer.run(raise_priority(once, "high"), CTX))
        await once.change("Printer jams (changed elsewhere)")
        after = await running
        assert once.reads == 2  # lost the race once, then ran again on the new state
        assert after["priority"] == "high" and after["title"] == "Printer jams (changed elsewhere)"
        assert after["version"] == 3  # created 1, the other connection 2, the second run 3

        stale = Rival(other, ticket_id, changes=0)
        with pytest.raises(StaleVersion) as refused:
            await writer.run(raise_priority(stale, "low", version=2), CTX)
        assert not isinstance(refused.value, ChangedMeanwhile) and stale.reads == 1  # the caller's own version

        always = Rival(other, ticket_id, changes=PooledWriter.ATTEMPTS)
        losing = asyncio.ensure_future(writer.run(raise_priority(always, "critical"), CTX))
        for n in range(PooledWriter.ATTEMPTS):
            await always.change(f"changed elsewhere {n}")
        with pytest.raises(ChangedMeanwhile):
            await losing
        assert always.reads == PooledWriter.ATTEMPTS
        stored = await db.read(lambda conn: tickets.load(conn, ticket_id=ticket_id))
        assert stored["priority"] == "high" and stored["version"] == 3 + PooledWriter.ATTEMPTS
    finally:
        other.dispose()
        writer.close()
        db.dispose()
