"""The deliveries table: fan-out from the log, claims with a lease, and the outcome of each attempt.

A subscription is a cursor over the event log. Fan-out reads the events after the cursor (in log order,
never skipping a late commit: `event_log.after`), writes a delivery for each one the subscription wants and
moves the cursor, in one transaction guarded by the cursor it read: two deliverers never fan out the same
events twice. The request path pays nothing for webhooks.

A deliverer takes due deliveries with a claim (a conditional UPDATE; on PostgreSQL the second claimant waits
on the row lock and then finds it taken) that it holds for a lease. Only the head of each (subscription,
aggregate) is ever due, so a ticket's events reach a subscription in log order, one at a time. A deliverer
that dies mid-delivery leaves its claim; once the lease has run out another takes the delivery and sends it
again, with the same `webhook-id`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Connection, delete, exists, insert, or_, select, text, update
from sqlalchemy.orm import aliased

from nixflow.domain.envelope import EventRecord
from nixflow.ids import uuid7
from nixflow.store import event_log
from nixflow.store.db import Tx, upsert
from nixflow.store.tables import UNFINISHED_DELIVERY_SQL, tickets, webhook_attempts, webhook_deliveries, webhooks
from nixflow.webhooks.model import FAILING_LIMIT, UNFINISHED, Subscription, is_success, retry_delay

PAGE = 500
_UNFINISHED = text(UNFINISHED_DELIVERY_SQL)  # the partial index's own condition


def ticket_categories(conn: Connection, records: Sequence[Any]) -> dict[str, int | None]:
    """The current category of each ticket the given events (or event rows) are about, by aggregate id."""
    ids = {int(r.aggregate_id) for r in records if r.aggregate_type == "ticket" and str(r.aggregate_id).isdigit()}
    if not ids:
        return {}
    rows = conn.execute(select(tickets.c.id, tickets.c.category_id).where(tickets.c.id.in_(sorted(ids))))
    return {str(r.id): r.category_id for r in rows}


def wanted(conn: Connection, subscription: Subscription, records: Sequence[Any]) -> list[Any]:
    """Those of `records` (events, or rows with their type, aggregate, id and seq) the subscription wants: its
    types, and its category's tickets when it names one."""
    categories = ticket_categories(conn, records) if subscription.category_id is not None else {}
    return [r for r in records if subscription.wants(r.type, r.aggregate_type, categories.get(str(r.aggregate_id)))]


@dataclass(frozen=True)
class NewEvents:
    """What a subscription has not read yet: the events it wants, where its cursor may move, whether more wait."""

    records: list[EventRecord]
    position: event_log.Position
    more: bool


def read_new(conn: Connection, subscription: Subscription) -> NewEvents:
    """The next page of the log after the subscription's cursor."""
    records, position = event_log.after(conn, subscription.cursor, limit=PAGE)
    return NewEvents(wanted(conn, subscription, records), position, len(records) == PAGE)


def delivery_row(webhook_id: int, record: Any, now: datetime) -> dict[str, Any]:
    """A new pending delivery of one event (an EventRecord, or a row with the same fields)."""
    return {
        "webhook_id": webhook_id,
        "event_id": record.event_id,
        "event_type": record.type,
        "event_seq": int(record.seq or 0),
        "aggregate_type": record.aggregate_type,
        "aggregate_id": str(record.aggregate_id),
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "shadow": False,
        "created_at": now,
        "updated_at": now,
    }


def fan_out(tx: Tx, subscription: Subscription, *, position: event_log.Position, records: Sequence[EventRecord]) -> int:
    """Move the cursor to `position` and write a delivery for each of `records`; 0 if another did it first."""
    old_txid, old_seq = subscription.cursor
    moved = tx.conn.execute(
        update(webhooks)
        .where(
            webhooks.c.id == subscription.id,
            webhooks.c.cursor_txid == old_txid,
            webhooks.c.cursor_seq == old_seq,
            webhooks.c.mode != "paused",
        )
        .values(cursor_txid=position[0], cursor_seq=position[1])
    )
    if not moved.rowcount or not records:
        return 0
    rows = [delivery_row(subscription.id, r, tx.now) for r in records]
    # A replay may have written some already.
    tx.conn.execute(upsert(tx.conn, webhook_deliveries).on_conflict_do_nothing(), rows)
    return len(rows)


@dataclass(frozen=True)
class Claimed:
    """A delivery one deliverer holds until it records the outcome or its lease runs out."""

    delivery_id: int
    claim_id: str
    event_id: str
    attempts: int


def _head_only() -> Any:
    earlier = aliased(webhook_deliveries)
    return ~exists(
        select(earlier.c.id).where(
            earlier.c.status.in_(UNFINISHED),
            earlier.c.webhook_id == webhook_deliveries.c.webhook_id,
            earlier.c.aggregate_type == webhook_deliveries.c.aggregate_type,
            earlier.c.aggregate_id == webhook_deliveries.c.aggregate_id,
            earlier.c.event_seq < webhook_deliveries.c.event_seq,
        )
    )


def _claimable(stale_before: datetime) -> Any:
    return or_(webhook_deliveries.c.claim_id.is_(None), webhook_deliveries.c.claimed_at < stale_before)


def due(conn: Connection, *, webhook_id: int, now: datetime, stale_before: datetime, limit: int) -> list[int]:
    """Deliveries of one subscription that may be attempted now: due, not held, each its aggregate's head."""
    rows = conn.execute(
        select(webhook_deliveries.c.id)
        .where(
            _UNFINISHED,
            webhook_deliveries.c.webhook_id == webhook_id,
            webhook_deliveries.c.next_attempt_at <= now,
            _claimable(stale_before),
            _head_only(),
        )
        .order_by(webhook_deliveries.c.next_attempt_at, webhook_deliveries.c.event_seq)
        .limit(limit)
    )
    return [int(r.id) for r in rows]


def claim(tx: Tx, delivery_ids: Sequence[int], *, stale_before: datetime) -> list[Claimed]:
    """Take those of `delivery_ids` nobody holds (or whose holder's lease ran out)."""
    if not delivery_ids:
        return []
    claim_id = uuid7()
    tx.conn.execute(
        update(webhook_deliveries)
        .where(webhook_deliveries.c.id.in_(delivery_ids), _UNFINISHED, _claimable(stale_before))
        .values(claim_id=claim_id, claimed_at=tx.now)
    )
    rows = tx.conn.execute(
        select(webhook_deliveries.c.id, webhook_deliveries.c.event_id, webhook_deliveries.c.attempts)
        .where(webhook_deliveries.c.claim_id == claim_id)
        .order_by(webhook_deliveries.c.event_seq)
    )
    return [Claimed(int(r.id), claim_id, r.event_id, int(r.attempts)) for r in rows]


@dataclass(frozen=True)
class Outcome:
    """What one attempt gave: a status code, or an error (no answer, refused target, timeout)."""

    at: datetime
    status_code: int | None = None
    latency_ms: int | None = None
    excerpt: str | None = None
    error: str | None = None
    shadow: bool = False  # built and logged, not sent
    final: bool = False  # a failure no retry can mend

    @property
    def succeeded(self) -> bool:
        return self.shadow or (self.status_code is not None and is_success(self.status_code))

    @property
    def gone(self) -> bool:
        return self.status_code == 410


def record(tx: Tx, subscription: Subscription, held: Claimed, outcome: Outcome, *, scale: float) -> str | None:
    """Record an attempt and what follows from it; the delivery's new status (None if the claim was lost)."""
    if not outcome.shadow:
        tx.conn.execute(
            insert(webhook_attempts),
            {
                "delivery_id": held.delivery_id,
                "at": outcome.at,
                "status_code": outcome.status_code,
                "latency_ms": outcome.latency_ms,
                "response_excerpt": outcome.excerpt,
                "error": outcome.error,
            },
        )
    attempts = held.attempts + (0 if outcome.shadow else 1)
    values: dict[str, Any] = {
        "attempts": attempts,
        "claim_id": None,
        "claimed_at": None,
        "updated_at": tx.now,
        "last_status_code": outcome.status_code,
        "last_error": outcome.error,
    }
    if outcome.succeeded:
        values.update(status="succeeded", delivered_at=outcome.at, next_attempt_at=None, shadow=outcome.shadow)
    else:
        delay = None if outcome.gone or outcome.final else retry_delay(attempts, scale)
        values.update(status="failed" if delay is None else "retrying", next_attempt_at=None)
        if delay is not None:
            values["next_attempt_at"] = tx.now + delay
    kept = tx.conn.execute(
        update(webhook_deliveries)
        .where(webhook_deliveries.c.id == held.delivery_id, webhook_deliveries.c.claim_id == held.claim_id)
        .values(**values)
    )
    if not kept.rowcount:
        return None  # released as stale, or replayed, meanwhile: whoever holds it now records it
    if outcome.shadow:
        return str(values["status"])
    if outcome.succeeded:
        tx.conn.execute(
            update(webhooks)
            .where(webhooks.c.id == subscription.id, webhooks.c.failing_since.is_not(None))
            .values(failing_since=None)
        )
    elif outcome.gone:
        disable(tx, subscription.id, reason="the receiver answered 410 Gone")
    else:
        _failing(tx, subscription.id, scale=scale)
    return str(values["status"])


def _failing(tx: Tx, webhook_id: int, *, scale: float) -> None:
    """Note a failure; a subscription failing without a success for 24 h (scaled) is disabled."""
    since = tx.conn.execute(select(webhooks.c.failing_since).where(webhooks.c.id == webhook_id)).scalar()
    if since is None:
        tx.conn.execute(update(webhooks).where(webhooks.c.id == webhook_id).values(failing_since=tx.now))
    elif tx.now - since >= FAILING_LIMIT * scale:
        disable(tx, webhook_id, reason="every delivery failed for 24 hours")


def disable(tx: Tx, webhook_id: int, *, reason: str) -> bool:
    """Pause a subscription that cannot be delivered to, and say so (`webhook.disabled`, which admins are told)."""
    row = tx.conn.execute(select(webhooks.c.url, webhooks.c.mode).where(webhooks.c.id == webhook_id)).first()
    if row is None or row.mode == "paused":
        return False
    tx.conn.execute(
        update(webhooks)
        .where(webhooks.c.id == webhook_id)
        .values(mode="paused", disabled_at=tx.now, disabled_reason=reason, failing_since=None, updated_at=tx.now)
    )
    tx.emit(
        "webhook.disabled",
        aggregate_type="webhook",
        aggregate_id=webhook_id,
        data={"webhook_id": webhook_id, "host": urlsplit(row.url).hostname or "", "reason": reason},
    )
    return True


DELIVERY_FIELDS = (
    "id",
    "event_id",
    "event_type",
    "status",
    "attempts",
    "last_status_code",
    "last_error",
    "next_attempt_at",
    "delivered_at",
    "shadow",
    "created_at",
)


def page(
    conn: Connection, *, webhook_id: int, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """A subscription's deliveries, newest first, and the next page's cursor."""
    query = select(*(webhook_deliveries.c[f] for f in DELIVERY_FIELDS)).where(
        webhook_deliveries.c.webhook_id == webhook_id
    )
    if cursor:
        query = query.where(webhook_deliveries.c.id < event_log.decode_cursor(cursor))
    rows = conn.execute(query.order_by(webhook_deliveries.c.id.desc()).limit(limit + 1)).all()
    items = [dict(r._mapping) for r in rows[:limit]]
    return items, (event_log.encode_cursor(items[-1]["id"]) if len(rows) > limit else None)


def attempts_of(conn: Connection, *, delivery_id: int) -> list[dict[str, Any]]:
    """Every attempt made for one delivery, oldest first."""
    rows = conn.execute(
        select(webhook_attempts).where(webhook_attempts.c.delivery_id == delivery_id).order_by(webhook_attempts.c.id)
    )
    return [dict(r._mapping) for r in rows]


def one(conn: Connection, *, webhook_id: int, delivery_id: int) -> dict[str, Any] | None:
    """One delivery of a subscription."""
    row = conn.execute(
        select(*(webhook_deliveries.c[f] for f in DELIVERY_FIELDS)).where(
            webhook_deliveries.c.id == delivery_id, webhook_deliveries.c.webhook_id == webhook_id
        )
    ).first()
    return None if row is None else dict(row._mapping)


def reset(tx: Tx, *, webhook_id: int, rows: Sequence[Any]) -> int:
    """Schedule these events (rows with event_id, seq, type, aggregate) again: new deliveries, or old ones
    reset to pending with their retries from the start. Returns how many."""
    if not rows:
        return 0
    ids = [r.event_id for r in rows]
    tx.conn.execute(
        update(webhook_deliveries)
        .where(webhook_deliveries.c.webhook_id == webhook_id, webhook_deliveries.c.event_id.in_(ids))
        .values(
            status="pending",
            attempts=0,
            next_attempt_at=tx.now,
            claim_id=None,
            claimed_at=None,
            delivered_at=None,
            shadow=False,
            updated_at=tx.now,
        )
    )
    fresh = [delivery_row(webhook_id, r, tx.now) for r in rows]
    tx.conn.execute(upsert(tx.conn, webhook_deliveries).on_conflict_do_nothing(), fresh)
    return len(rows)


def cleanup(conn: Connection, *, older_than: datetime) -> int:
    """Delete finished deliveries (and their attempts) made before `older_than`; how many."""
    done = conn.execute(
        delete(webhook_deliveries).where(
            webhook_deliveries.c.created_at < older_than, webhook_deliveries.c.status.in_(("succeeded", "failed"))
        )
    )
    return int(done.rowcount)
