"""The delivery state of the event log: claiming events, recording outcomes and handler receipts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, and_, bindparam, func, insert, or_, select, update

from nixflow.domain.values import EventStatus
from nixflow.events.envelope import EventRecord
from nixflow.store.event_log import record_of
from nixflow.store.tables import events, handler_receipts


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
    rows = sorted(rows, key=lambda r: (r._mapping["priority_rank"], r._mapping["seq"]))
    return [record_of(r) for r in rows]


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
_HANDLED_BY = select(handler_receipts.c.handler).where(handler_receipts.c.event_id == bindparam("b_event_id"))
_INSERT_RECEIPT = insert(handler_receipts)


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
            or_(
                and_(events.c.status == EventStatus.PENDING.value, events.c.updated_at <= stale_before),
                and_(events.c.status == EventStatus.PROCESSING.value, events.c.updated_at <= stale_before),
                and_(events.c.status == EventStatus.RETRYING.value, events.c.next_attempt_at <= now),
            )
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


def record_receipt(conn: Connection, handler: str, event_id: str, now: datetime) -> None:
    """Note that `handler` handled `event_id`, in the transaction of its effect."""
    conn.execute(_INSERT_RECEIPT, {"handler": handler, "event_id": event_id, "handled_at": now})
