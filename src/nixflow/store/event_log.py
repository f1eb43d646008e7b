"""The event log repository: the outbox and the audit trail (appends, reads, stats, cleanup).

The delivery state of each event (claims, outcomes, receipts) is kept by `store.deliveries`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Row,
    Select,
    and_,
    bindparam,
    delete,
    func,
    insert,
    literal,
    select,
    text,
    tuple_,
)

from nixflow.domain.envelope import EventRecord
from nixflow.domain.errors import ValidationFailed
from nixflow.domain.values import EventStatus, Priority
from nixflow.store.fast import Fast
from nixflow.store.tables import events, handler_receipts


@dataclass(frozen=True)
class EventFilter:
    """Filters of `GET /api/events` and `nixflow events list`."""

    type: str | None = None
    category: str | None = None
    status: EventStatus | None = None
    priority: Priority | None = None
    aggregate_type: str | None = None
    aggregate_id: str | None = None
    correlation_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


# A cursor is the position a newest-first page ends at, in digits: what the OpenAPI schema's pattern says.
CURSOR_PATTERN = r"^[0-9]{1,18}$"
_CURSOR = re.compile(CURSOR_PATTERN)


def encode_cursor(position: int) -> str:
    """The cursor for a position in a newest-first listing (an event's seq, a ticket's id)."""
    return str(position)


def decode_cursor(cursor: str) -> int:
    """The position an `encode_cursor` value stands for; a bad cursor is a 422."""
    if not _CURSOR.match(cursor):
        raise ValidationFailed("cursor is not valid")
    return int(cursor)


def record_of(row: Row[Any] | Mapping[str, Any]) -> EventRecord:
    m = row._mapping if isinstance(row, Row) else row
    return EventRecord(
        event_id=m["event_id"],
        type=m["event_type"],
        category=m["category"],
        priority=Priority(m["priority"]),
        timestamp=m["timestamp"],
        aggregate_type=m["aggregate_type"],
        aggregate_id=m["aggregate_id"],
        data=m["data"],
        metadata=m["metadata"],
        status=EventStatus(m["status"]),
        retry_count=m["retry_count"],
        error=m["error"],
        seq=m["seq"],
        duplicate_of=m["duplicate_of"],
        next_attempt_at=m["next_attempt_at"],
    )


_INSERT_EVENTS = insert(events).returning(events.c.seq, sort_by_parameter_order=True)
_INSERT_RECEIPTS = Fast(insert(handler_receipts))


def _row(record: EventRecord) -> dict[str, Any]:
    return {
        "event_id": record.event_id,
        "event_type": record.type,
        "category": record.category,
        "priority": record.priority.value,
        "priority_rank": record.priority.rank,
        "status": record.status.value,
        "retry_count": record.retry_count,
        "next_attempt_at": record.next_attempt_at,
        "error": record.error,
        "timestamp": record.timestamp,
        "updated_at": record.timestamp,
        "aggregate_type": record.aggregate_type,
        "aggregate_id": record.aggregate_id,
        "data": record.data,
        "metadata": record.metadata,
        "correlation_id": record.correlation_id,
        "causation_id": record.causation_id,
        "actor_id": record.actor_id,
        "dedup_key": record.dedup_key,
        "duplicate_of": record.duplicate_of,
    }


_EVENT_COLUMNS = (
    "event_id", "event_type", "category", "priority", "priority_rank", "status", "retry_count", "next_attempt_at",
    "error", "timestamp", "updated_at", "aggregate_type", "aggregate_id", "data", "metadata", "correlation_id",
    "causation_id", "actor_id", "dedup_key", "duplicate_of",
)  # fmt: skip
_INSERT_EVENT = Fast(insert(events).values({c: bindparam(c) for c in _EVENT_COLUMNS}))


def append_many(conn: Connection, records: Sequence[EventRecord]) -> None:
    """Add events to the log in the caller's transaction (the outbox write), in order, with their outcome
    so far; each record gets its `seq`."""
    if not records:
        return
    if conn.dialect.name == "sqlite":
        # One `executemany` on the driver's cursor. The one writer gives the rows of one statement consecutive
        # positions (each the largest so far plus one), so the last one's position gives every one's.
        if _INSERT_EVENT.many(conn, [_row(r) for r in records]) != len(records):
            raise RuntimeError("the log did not take every event of the unit of work")
        first = int(conn.exec_driver_sql("SELECT last_insert_rowid()").scalar_one()) - len(records) + 1
        for offset, record in enumerate(records):
            record.seq = first + offset
        return
    # One statement for the whole unit of work (a network round trip saved per event); built once.
    seqs = conn.execute(_INSERT_EVENTS, [_row(r) for r in records]).scalars().all()
    for record, seq in zip(records, seqs, strict=True):
        record.seq = int(seq)


def record_receipts(conn: Connection, receipts: Sequence[tuple[str, str]], now: datetime) -> None:
    """Note which handler handled which event, in the transaction of their effects."""
    if receipts:
        _INSERT_RECEIPTS.many(conn, [{"handler": h, "event_id": e, "handled_at": now} for h, e in receipts])


def find(conn: Connection, event_id: str) -> EventRecord | None:
    """One event by id."""
    row = conn.execute(select(events).where(events.c.event_id == event_id)).first()
    return None if row is None else record_of(row)


def find_by_ids(conn: Connection, event_ids: Sequence[str]) -> list[EventRecord]:
    """Events by id, in log order."""
    if not event_ids:
        return []
    rows = conn.execute(select(events).where(events.c.event_id.in_(event_ids)).order_by(events.c.seq))
    return [record_of(r) for r in rows]


def _where(flt: EventFilter) -> list[Any]:
    clauses: list[Any] = []
    if flt.type:
        clauses.append(events.c.event_type == flt.type)
    if flt.category:
        clauses.append(events.c.category == flt.category)
    if flt.status:
        clauses.append(events.c.status == flt.status.value)
    if flt.priority:
        clauses.append(events.c.priority == flt.priority.value)
    if flt.aggregate_type:
        clauses.append(events.c.aggregate_type == flt.aggregate_type)
    if flt.aggregate_id:
        clauses.append(events.c.aggregate_id == flt.aggregate_id)
    if flt.correlation_id:
        clauses.append(events.c.correlation_id == flt.correlation_id)
    if flt.since:
        clauses.append(events.c.timestamp >= flt.since)
    if flt.until:
        clauses.append(events.c.timestamp < flt.until)
    return clauses


def find_many(
    conn: Connection, flt: EventFilter, *, limit: int = 50, cursor: str | None = None
) -> tuple[list[EventRecord], str | None]:
    """Events matching `flt`, newest first, and the cursor of the next page (or None)."""
    rows = conn.execute(page_of(flt, limit=limit, cursor=cursor)).all()
    records = [record_of(r) for r in rows[:limit]]
    next_cursor = encode_cursor(records[-1].seq or 0) if len(rows) > limit and records else None
    return records, next_cursor


def page_of(flt: EventFilter, *, limit: int, cursor: str | None = None) -> Select[Any]:
    """The statement of a page of `find_many` (one row more than `limit`), as the plan tests explain it."""
    clauses = _where(flt)
    if cursor:
        clauses.append(events.c.seq < decode_cursor(cursor))
    return select(events).where(and_(True, *clauses)).order_by(events.c.seq.desc()).limit(limit + 1)


def timeline(conn: Connection, aggregate_type: str, aggregate_id: str) -> list[EventRecord]:
    """An aggregate's events in log (commit) order."""
    rows = conn.execute(
        select(events)
        .where(events.c.aggregate_type == aggregate_type, events.c.aggregate_id == aggregate_id)
        .order_by(events.c.seq)
    )
    return [record_of(r) for r in rows]


def timelines(
    conn: Connection, aggregate_type: str, aggregate_ids: Sequence[str], *, before: datetime
) -> dict[str, list[EventRecord]]:
    """Several aggregates' events before an instant, each in log order."""
    out: dict[str, list[EventRecord]] = {a: [] for a in aggregate_ids}
    if not aggregate_ids:
        return out
    rows = conn.execute(
        select(events)
        .where(
            events.c.aggregate_type == aggregate_type,
            events.c.aggregate_id.in_(list(aggregate_ids)),
            events.c.timestamp < before,
        )
        .order_by(events.c.seq)
    )
    for row in rows:
        record = record_of(row)
        out[record.aggregate_id].append(record)
    return out


def aggregates_with(
    conn: Connection, aggregate_type: str, event_types: Sequence[str], *, since: datetime, until: datetime
) -> list[str]:
    """The aggregates with an event of one of these types in [since, until)."""
    rows = conn.execute(
        select(events.c.aggregate_id)
        .where(
            events.c.aggregate_type == aggregate_type,
            events.c.event_type.in_(list(event_types)),
            events.c.timestamp >= since,
            events.c.timestamp < until,
        )
        .distinct()
    )
    return [str(r[0]) for r in rows]


Position = tuple[int, int]
"""A place in the log: (transaction id, seq). The transaction id is 0 on SQLite."""

START: Position = (0, 0)


def position_of(conn: Connection, event_id: str) -> Position | None:
    """The log position of an event."""
    row = conn.execute(select(events.c.txid, events.c.seq).where(events.c.event_id == event_id)).first()
    return None if row is None else (int(row.txid or 0), int(row.seq))


def head(conn: Connection) -> Position:
    """The position after which new events will appear (for a reader starting now)."""
    if conn.dialect.name != "postgresql":
        seq = conn.execute(select(func.max(events.c.seq))).scalar()
        return (0, int(seq or 0))
    horizon = _horizon(conn)
    row = conn.execute(
        select(events.c.txid, events.c.seq)
        .where(events.c.txid < horizon)
        .order_by(events.c.txid.desc(), events.c.seq.desc())
        .limit(1)
    ).first()
    return START if row is None else (int(row.txid), int(row.seq))


def _horizon(conn: Connection) -> int:
    # Every transaction with a smaller id has finished: rows below it can no longer appear late.
    return int(conn.execute(text("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")).scalar_one())


def tail_query(position: Position, horizon: int, limit: int) -> Select[Any]:
    """PostgreSQL: the events after `position` of transactions older than `horizon`, in log order."""
    return (
        select(events)
        .where(tuple_(events.c.txid, events.c.seq) > tuple_(literal(position[0]), literal(position[1])))
        .where(events.c.txid < horizon)
        .order_by(events.c.txid, events.c.seq)
        .limit(limit)
    )


_AFTER = Fast(
    select(events).where(events.c.seq > bindparam("b_seq")).order_by(events.c.seq).limit(bindparam("b_limit"))
)


def after(conn: Connection, position: Position, *, limit: int = 500) -> tuple[list[EventRecord], Position]:
    """Committed events after `position`, in log order, that no late commit can precede; and the new position.

    SQLite commits in `seq` order (one writer). On PostgreSQL only transactions older than every running
    one are read, ordered by (txid, seq): an event whose transaction commits late is read after it
    commits, never skipped.
    """
    seq = position[1]
    if conn.dialect.name != "postgresql":
        # The log tailer reads every event this way: on the fast path (each row's ~20 columns processed cheaply).
        found = _AFTER.all(conn, {"b_seq": seq, "b_limit": limit}) if limit else []
        if found:
            position = (int(found[-1]["txid"] or 0), int(found[-1]["seq"]))
        return [record_of(r) for r in found], position
    rows = conn.execute(tail_query(position, _horizon(conn), limit)).all() if limit else []
    records = [record_of(r) for r in rows]
    if rows:
        last = rows[-1]._mapping
        position = (int(last["txid"] or 0), int(last["seq"]))
    return records, position


def seq_of(conn: Connection, event_id: str) -> int | None:
    """The `seq` of an event."""
    value = conn.execute(select(events.c.seq).where(events.c.event_id == event_id)).scalar()
    return None if value is None else int(value)


def ids_in_range(conn: Connection, *, since: datetime, until: datetime, limit: int = 10_000) -> list[str]:
    """Event ids with a timestamp in [since, until), in log order."""
    rows = conn.execute(
        select(events.c.event_id)
        .where(events.c.timestamp >= since, events.c.timestamp < until)
        .order_by(events.c.seq)
        .limit(limit)
    )
    return [r[0] for r in rows]


def delete_event(conn: Connection, event_id: str) -> bool:
    """Remove one event and its receipts."""
    conn.execute(delete(handler_receipts).where(handler_receipts.c.event_id == event_id))
    return bool(conn.execute(delete(events).where(events.c.event_id == event_id)).rowcount)


def cleanup(conn: Connection, *, older_than: datetime) -> int:
    """Delete finished events (completed or failed) older than a point in time; return how many."""
    finished = [EventStatus.COMPLETED.value, EventStatus.FAILED.value]
    old = select(events.c.event_id).where(events.c.timestamp < older_than, events.c.status.in_(finished))
    conn.execute(delete(handler_receipts).where(handler_receipts.c.event_id.in_(old)))
    result = conn.execute(delete(events).where(events.c.timestamp < older_than, events.c.status.in_(finished)))
    return int(result.rowcount)
