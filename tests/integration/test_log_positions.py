"""Readers of the log never skip an event whose transaction commits late (invariant 8)."""

from __future__ import annotations

import asyncio
import time

import pytest
from sqlalchemy import Connection
from tests.conftest import Harness

from nixflow.domain.envelope import EventContext
from nixflow.ids import utcnow
from nixflow.store import event_log
from nixflow.store.db import Database, Tx


def emit(conn: Connection, reason: str) -> str:
    tx = Tx(conn, EventContext(correlation_id="c", actor_id=None, source="test"), utcnow())
    record = tx.emit(
        "notification.requested",
        aggregate_type="ticket",
        aggregate_id=1,
        data={"ticket_id": 1, "recipient_role": None, "recipient_id": None, "reason": reason},
    )
    tx.flush()
    return record.event_id


def read_all(db: Database, position: event_log.Position) -> tuple[list[str], event_log.Position]:
    records, position = db.read_sync(lambda conn: event_log.after(conn, position))
    return [r.data["reason"] for r in records], position


def read_until(db: Database, position: event_log.Position, count: int) -> tuple[list[str], event_log.Position]:
    """Read until `count` events arrived: any transaction of the whole server that is still running
    (another test process, say) holds the horizon back for a moment, never for good."""
    seen: list[str] = []
    for _ in range(200):
        more, position = read_all(db, position)
        seen += more
        if len(seen) >= count:
            return seen, position
        time.sleep(0.05)
    return seen, position


async def test_an_event_committed_late_is_read_after_it_commits_not_skipped(harness: Harness, mode: str) -> None:
    db = harness.nixflow.db
    start = db.read_sync(event_log.head)
    if mode == "embedded":
        # One writer: seq order is commit order. Two events in sequence are read in order.
        with db.write_engine.connect() as conn, conn.begin():
            emit(conn, "first")
        with db.write_engine.connect() as conn, conn.begin():
            emit(conn, "second")
        assert read_all(db, start)[0] == ["first", "second"]
        return
    slow = db.write_engine.connect()
    fast = db.write_engine.connect()
    try:
        slow_tx = slow.begin()
        fast_tx = fast.begin()
        # `fast` gets its transaction id first, `slow` takes the lower seq, `fast` commits first:
        # the trap where reading by seq alone would pass over the slow event for good.
        fast.exec_driver_sql("SELECT pg_current_xact_id()")
        emit(slow, "slow, lower seq")
        emit(fast, "fast, higher seq")
        fast_tx.commit()
        seen, position = read_all(db, start)
        assert "slow, lower seq" not in seen
        slow_tx.commit()
        later, position = read_until(db, position, 2 - len(seen))
        assert "slow, lower seq" in seen + later
        assert sorted(seen + later) == ["fast, higher seq", "slow, lower seq"]
        assert read_all(db, position)[0] == []
    finally:
        slow.close()
        fast.close()


async def test_a_reader_waits_behind_a_running_transaction(harness: Harness, mode: str) -> None:
    if mode == "embedded":
        pytest.skip("SQLite has one writer: there is never a concurrent transaction to wait behind")
    db = harness.nixflow.db
    start = db.read_sync(event_log.head)
    slow = db.write_engine.connect()
    try:
        slow_tx = slow.begin()
        emit(slow, "held")
        with db.write_engine.connect() as conn, conn.begin():
            emit(conn, "after")
        assert read_all(db, start)[0] == []  # "after" waits until "held" is decided
        slow_tx.commit()
        assert read_until(db, start, 2)[0] == ["held", "after"]
    finally:
        slow.close()


async def test_the_tailer_sees_what_another_process_commits(harness: Harness, settings: object) -> None:
    from nixflow.bootstrap import build
    from nixflow.config import Settings

    assert isinstance(settings, Settings)
    seen: list[str] = []
    ids: list[str] = []
    harness.nixflow.tailer.sinks.append(lambda records: seen.extend(r.type for r in records))
    harness.nixflow.tailer.sinks.append(lambda records: ids.extend(r.event_id for r in records))
    other = build(settings)  # a second NixFlow on the same database, as another process would be
    try:
        user = await harness.user("requester")
        response = await harness.client.post("/api/tickets", json={"title": "local"}, headers=user.headers)
        assert response.status_code == 201
        ctx = EventContext(correlation_id="elsewhere", actor_id=None, source="test")
        await other.writer.run(
            lambda tx: tx.emit(
                "notification.requested",
                aggregate_type="ticket",
                aggregate_id=1,
                data={"ticket_id": 1, "recipient_role": None, "recipient_id": None, "reason": "x"},
            ),
            ctx,
        )
        # On PostgreSQL an event is read once every transaction older than it has ended (another test's, a
        # periodic job's): wait for that by time, not by a count of polls that a loaded machine runs through.
        deadline = asyncio.get_running_loop().time() + 15
        while "notification.requested" not in seen and asyncio.get_running_loop().time() < deadline:
            await harness.nixflow.tailer.poll()
            await asyncio.sleep(0.02)
        assert "ticket.created" in seen and "notification.requested" in seen
        assert seen.index("ticket.created") < seen.index("notification.requested")
        assert len(ids) == len(set(ids))  # each event handed over once
    finally:
        other.writer.close()
        other.db.dispose()


async def test_concurrent_polls_hand_each_event_over_once(harness: Harness) -> None:
    ids: list[str] = []
    harness.nixflow.tailer.sinks.append(lambda records: ids.extend(r.event_id for r in records))
    user = await harness.user("requester")
    for n in range(3):
        response = await harness.client.post("/api/tickets", json={"title": f"t{n}"}, headers=user.headers)
        assert response.status_code == 201
    # Both calls would start from the same position if they did not take turns.
    await asyncio.gather(*(harness.nixflow.tailer.poll() for _ in range(4)))
    await harness.settle()
    await harness.nixflow.tailer.poll()
    assert ids, "the tailer handed nothing over"
    assert len(ids) == len(set(ids))


async def test_a_position_is_never_handed_out_again_after_the_newest_events_are_deleted(harness: Harness) -> None:
    """Retention cleanup may delete the newest events (a quiet week); new events must still come after
    every position a reader has seen, or `?after=` resumers and the tailer skip them."""
    db = harness.nixflow.db
    with db.write_engine.connect() as conn, conn.begin():
        for reason in ("one", "two", "three"):
            emit(conn, reason)
    seen, position = read_until(db, event_log.START, 3)
    assert seen[-3:] == ["one", "two", "three"]
    await harness.settle()  # delivered, so finished: cleanup takes finished events only
    deleted = await harness.write(lambda tx: event_log.cleanup(tx.conn, older_than=utcnow()))
    assert deleted >= 3  # finished events: all of them
    await harness.write(
        lambda tx: tx.emit(
            "notification.requested",
            aggregate_type="ticket",
            aggregate_id=1,
            data={"ticket_id": 1, "recipient_role": None, "recipient_id": None, "reason": "after cleanup"},
        )
    )
    assert read_until(db, position, 1)[0] == ["after cleanup"]
