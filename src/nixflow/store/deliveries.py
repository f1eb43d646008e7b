"""The delivery state of the event log: claiming events, recording outcomes and handler receipts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, and_, bindparam, func, or_, select, text, update

from nixflow.domain.envelope import EventRecord
from nixflow.domain.values import EventStatus
from nixflow.store.event_log import record_of
from nixflow.store.fast import Fast
from nixflow.store.tables import UNFINISHED_SQL, events, handler_receipts


def claim(conn: Connection, event_ids: Sequence[str], now: datetime, stale_before: datetime) -> list[EventRecord]:
    """Move deliverable events to `processing`; return those this call claimed.

    Deliverable: `pending`, `retrying`, or `processing` for so long that its consumer is presumed dead.
    """
    if not event_ids:
        return []
    deliverable = or_(
        events.c.status.in_([EventStatus.PENDING.value, EventStatus.RETRYING.value]),
        and_(events.c.status == EventStatus.PROCESSING.value, events.c.updated_at <= stale_before),
    )
    rows = conn.execute(
        update(events)
        .where(events.c.event_id.in_(event_ids), deliverable)
        .values(status=EventStatus.PROCESSING.value, updated_at=now)
        .returning(*events.c)
    ).all()
    return in_delivery_order([record_of(r) for r in rows])


def in_delivery_order(records: Sequence[EventRecord]) -> list[EventRecord]:
    """Higher priority first, except that each aggregate's events keep the order they were written in:
    an aggregate's events take the places its events hold in priority order, in log order."""
    by_priority = sorted(records, key=lambda r: (r.priority.rank, r.seq or 0))
    in_log_order: dict[tuple[str, str], list[EventRecord]] = {}
    for record in sorted(records, key=lambda r: r.seq or 0):
        in_log_order.setdefault((record.aggregate_type, record.aggregate_id), []).append(record)
    return [in_log_order[(r.aggregate_type, r.aggregate_id)].pop(0) for r in by_priority]


def unfinished_aggregates(conn: Connection, aggregates: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """Those of `aggregates` that have an event in the log not yet finished (a small partial index)."""
    if not aggregates:
        return set()
    ids = sorted({aggregate_id for _, aggregate_id in aggregates})
    if len(ids) == 1:  # most units of work change one ticket: a plain statement, run on the fast path
        found = _UNFINISHED_OF_ONE.all(conn, {"b_id": ids[0]})
        return {(r["aggregate_type"], r["aggregate_id"]) for r in found} & aggregates
    rows = conn.execute(_UNFINISHED_AGGREGATES, {"b_ids": ids}).all()
    return {(r[0], r[1]) for r in rows} & aggregates


def has_earlier_unfinished(conn: Connection, record: EventRecord) -> bool:
    """Whether an event of the same aggregate, written before `record`, is not finished yet."""
    row = conn.execute(
        _EARLIER_UNFINISHED,
        {
            "b_type": record.aggregate_type,
            "b_id": record.aggregate_id,
            "b_seq": record.seq,
            "b_event_id": record.event_id,
        },
    ).first()
    return row is not None


# Hot statements are built once: only their parameters change, so nothing is rebuilt or re-keyed per call.
_FINISH = (
    update(events)
    .where(events.c.event_id == bindparam("b_event_id"))
    .values(
        status=bindparam("b_status", type_=events.c.status.type),
        updated_at=bindparam("b_now", type_=events.c.updated_at.type),
        error=bindparam("b_error", type_=events.c.error.type),
        next_attempt_at=bindparam("b_next_attempt_at", type_=events.c.next_attempt_at.type),
        retry_count=func.coalesce(bindparam("b_retry_count", type_=events.c.retry_count.type), events.c.retry_count),
        duplicate_of=func.coalesce(
            bindparam("b_duplicate_of", type_=events.c.duplicate_of.type), events.c.duplicate_of
        ),
    )
)
_UNFINISHED = text(UNFINISHED_SQL)  # the partial index's own condition, so both databases use the index
_UNFINISHED_AGGREGATES = (
    select(events.c.aggregate_type, events.c.aggregate_id)
    .where(_UNFINISHED, events.c.aggregate_id.in_(bindparam("b_ids", expanding=True)))
    .distinct()
)
_UNFINISHED_OF_ONE = Fast(
    select(events.c.aggregate_type, events.c.aggregate_id)
    .where(_UNFINISHED, events.c.aggregate_id == bindparam("b_id"))
    .distinct()
)
_EARLIER_UNFINISHED = (
    select(events.c.seq)
    .where(
        _UNFINISHED,
        events.c.aggregate_type == bindparam("b_type"),
        events.c.aggregate_id == bindparam("b_id"),
        events.c.seq < bindparam("b_seq"),
        events.c.event_id != bindparam("b_event_id"),
    )
    .limit(1)
)
_HANDLED_BY = select(handler_receipts.c.handler).where(handler_receipts.c.event_id == bindparam("b_event_id"))


def finish(
    conn: Connection,
    event_id: str,
    *,
    status: EventStatus,
    now: datetime,
    retry_count: int | None = None,
    next_attempt_at: datetime | None = None,
    error: str | None = None,
    duplicate_of: str | None = None,
) -> None:
    """Record the outcome of one delivery (`retry_count` and `duplicate_of` stay as they are when None)."""
    conn.execute(
        _FINISH,
        {
            "b_event_id": event_id,
            "b_status": status.value,
            "b_now": now,
            "b_error": error,
            "b_next_attempt_at": next_attempt_at,
            "b_retry_count": retry_count,
            "b_duplicate_of": duplicate_of,
        },
    )


def due_for_delivery(conn: Connection, *, now: datetime, stale_before: datetime, limit: int = 500) -> list[str]:
    """Ids the sweeper must (re)send: stale `pending`/`processing`, and `retrying` whose backoff ran out."""
    rows = conn.execute(
        select(events.c.event_id)
        .where(
            _UNFINISHED,
            or_(
                and_(events.c.status == EventStatus.PENDING.value, events.c.updated_at <= stale_before),
                and_(events.c.status == EventStatus.PROCESSING.value, events.c.updated_at <= stale_before),
                and_(events.c.status == EventStatus.RETRYING.value, events.c.next_attempt_at <= now),
            ),
        )
        .order_by(events.c.priority_rank, events.c.seq)
        .limit(limit)
    )
    return [r[0] for r in rows]


def reset_for_replay(conn: Connection, event_ids: Sequence[str], now: datetime) -> int:
    """Make events deliverable again (status `pending`, attempts from zero)."""
    result = conn.execute(
        update(events)
        .where(events.c.event_id.in_(event_ids))
        .values(status=EventStatus.PENDING.value, retry_count=0, error=None, next_attempt_at=None, updated_at=now)
    )
    return int(result.rowcount)


def handled_by(conn: Connection, event_id: str) -> set[str]:
    """The handlers that have already committed their effect for `event_id`."""
    return {r[0] for r in conn.execute(_HANDLED_BY, {"b_event_id": event_id})}
