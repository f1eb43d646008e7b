"""The writers: on SQLite a turn is bounded in time and WAL checkpoints happen beside it, not in its commits; on
PostgreSQL a unit that lost a race it never chose runs again."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from nixflow.domain.errors import ChangedMeanwhile, StaleVersion
from nixflow.events.envelope import EventContext
from nixflow.ids import utcnow
from nixflow.store.db import Database, Tx
from nixflow.store.migrate import upgrade
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


@pytest.mark.postgres
async def test_a_unit_that_lost_a_race_runs_again_and_a_stale_version_does_not(postgres_database: str) -> None:
    db = Database(postgres_database)
    writer = PooledWriter(db, utcnow)
    runs: list[str] = []
    try:

        def raced(tx: Tx) -> int:
            runs.append("raced")
            if len(runs) == 1:  # what `_save` raises when another unit changed the ticket in between
                raise ChangedMeanwhile("ticket 1 was changed by someone else; reload it")
            return int(tx.conn.execute(text("SELECT 41 + 1")).scalar_one())

        assert await writer.run(raced, CTX) == 42
        assert runs == ["raced", "raced"]

        def stale(tx: Tx) -> None:
            runs.append("stale")
            raise StaleVersion("ticket 1 is at version 3, not 2")  # the caller's own version: no second run

        with pytest.raises(StaleVersion):
            await writer.run(stale, CTX)
        assert runs.count("stale") == 1

        def always(tx: Tx) -> None:
            runs.append("always")
            raise ChangedMeanwhile("ticket 1 was changed by someone else; reload it")

        with pytest.raises(ChangedMeanwhile):
            await writer.run(always, CTX)
        assert runs.count("always") == PooledWriter.ATTEMPTS
    finally:
        writer.close()
        db.dispose()
