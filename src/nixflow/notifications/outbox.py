"""The mail side of the notifications table: claiming what is due, and recording how sending went.

A claim is a conditional UPDATE (`email_status` still what was read), so two workers never take the same
row: on PostgreSQL the second waits on the row lock and then finds nothing to take. A row is marked `sent`
right after the server accepted the mail. A sender that dies between the two leaves the row `sending`;
once that claim is older than the stale limit it is released and the mail goes again, with the same
Message-ID (so the rare duplicate is one a mail client can recognise): at most one mail per success
recorded, and at least once in the end.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, func, or_, select, update

from nixflow.domain.envelope import EventRecord
from nixflow.ids import uuid7
from nixflow.notifications import preferences
from nixflow.notifications.model import DIGEST_PERIOD
from nixflow.store import event_log
from nixflow.store.db import Tx
from nixflow.store.tables import email_bounces, events, notification_preferences, notifications, tickets, users

# email_status while claimed, and what it returns to when released
RETURNS_TO = {"sending": "pending", "digesting": "digest"}


@dataclass(frozen=True)
class Claim:
    """Notification rows taken by one sender for one mail."""

    claim_id: str
    recipient_id: int
    ticket_id: int | None  # None: a digest, or an account mail
    ids: list[int]
    message_id: str | None  # set when an earlier attempt already named the mail
    attempts: int
    account_kind: str | None = None  # an account mail about no ticket (`password_reset`): one row, one mail

    @property
    def is_digest(self) -> bool:
        return self.ticket_id is None and self.account_kind is None

    @property
    def claimed_as(self) -> str:
        return "digesting" if self.is_digest else "sending"


def cause(conn: Connection, claim: Claim) -> EventRecord | None:
    """The event that caused the claim's first notification: its mail is traced in that event's trace."""
    event_id = conn.execute(select(notifications.c.event_id).where(notifications.c.id == claim.ids[0])).scalar()
    return None if event_id is None else event_log.find(conn, event_id)


def release_stale(tx: Tx, *, before: datetime) -> int:
    """Give back rows whose sender died mid-send (claimed before `before`)."""
    released = 0
    for claimed, back in RETURNS_TO.items():
        done = tx.conn.execute(
            update(notifications)
            .where(notifications.c.email_status == claimed, notifications.c.claimed_at < before)
            .values(email_status=back, claim_id=None)
        )
        released += done.rowcount
    return released


def _take(tx: Tx, *where: Any, status: str) -> tuple[str, Sequence[Any]]:
    claim_id = uuid7()
    tx.conn.execute(
        update(notifications)
        .where(notifications.c.email_status == RETURNS_TO[status], *where)
        .values(email_status=status, claim_id=claim_id, claimed_at=tx.now)
    )
    rows = tx.conn.execute(
        select(notifications.c.id, notifications.c.message_id, notifications.c.attempts)
        .where(notifications.c.claim_id == claim_id)
        .order_by(notifications.c.id)
    ).all()
    return claim_id, rows


def _refused_before() -> ColumnElement[bool]:
    """Rows of a mail a server already refused (and that wait for a retry or are being retried)."""
    return notifications.c.attempts > 0


def _not_backing_off(now: datetime) -> ColumnElement[bool]:
    """Rows not waiting out a retry: never refused, or refused and due again."""
    return or_(notifications.c.attempts == 0, notifications.c.send_after <= now)


def claim_due_group(tx: Tx) -> Claim | None:
    """Take the pending mail of the (recipient, ticket) whose first notification is due longest: one mail.

    Rows never refused go together (changes in the holding window make one mail); rows a server refused are
    retried on their own once their backoff has passed, so a fresh change neither cuts a backoff short nor
    shares a retried mail's attempt count and fate."""
    due = tx.conn.execute(
        select(notifications.c.recipient_id, notifications.c.ticket_id, _refused_before().label("refused"))
        .where(
            notifications.c.email_status == "pending",
            notifications.c.ticket_id.is_not(None),
            notifications.c.send_after <= tx.now,
        )
        .order_by(notifications.c.send_after, notifications.c.id)
        .limit(1)
    ).first()
    if due is None:
        return None
    same_kind = and_(_refused_before(), notifications.c.send_after <= tx.now) if due.refused else ~_refused_before()
    claim_id, rows = _take(
        tx,
        notifications.c.recipient_id == due.recipient_id,
        notifications.c.ticket_id == due.ticket_id,
        same_kind,
        status="sending",
    )
    if not rows:
        return None
    named = next((r.message_id for r in rows if r.message_id), None)
    ids = [int(r.id) for r in rows]
    return Claim(claim_id, int(due.recipient_id), int(due.ticket_id), ids, named, max(int(r.attempts) for r in rows))


def claim_due_account_mail(tx: Tx) -> Claim | None:
    """Take the pending account mail (about no ticket: a password reset link) due longest: one row, one mail."""
    due = tx.conn.execute(
        select(notifications.c.id, notifications.c.recipient_id, notifications.c.kind)
        .where(
            notifications.c.email_status == "pending",
            notifications.c.ticket_id.is_(None),
            notifications.c.send_after <= tx.now,
        )
        .order_by(notifications.c.send_after, notifications.c.id)
        .limit(1)
    ).first()
    if due is None:
        return None
    claim_id, rows = _take(tx, notifications.c.id == due.id, status="sending")
    if not rows:
        return None
    row = rows[0]
    return Claim(
        claim_id, int(due.recipient_id), None, [int(row.id)], row.message_id, int(row.attempts), account_kind=due.kind
    )


def claim_due_digest(tx: Tx) -> Claim | None:
    """Take the waiting notifications of one recipient whose digest period has passed."""
    waiting = tx.conn.execute(
        select(notifications.c.recipient_id, func.min(notifications.c.created_at).label("since"))
        .where(notifications.c.email_status == "digest", _not_backing_off(tx.now))
        .group_by(notifications.c.recipient_id)
        .order_by(func.min(notifications.c.created_at))
    ).all()
    for row in waiting:
        prefs = preferences.get(tx.conn, user_id=int(row.recipient_id))
        last = tx.conn.execute(
            select(notification_preferences.c.last_digest_at).where(
                notification_preferences.c.user_id == row.recipient_id
            )
        ).scalar()
        period = DIGEST_PERIOD.get(prefs.digest, timedelta(0))
        if tx.now < (last or row.since) + period:
            continue
        claim_id, rows = _take(
            tx, notifications.c.recipient_id == row.recipient_id, _not_backing_off(tx.now), status="digesting"
        )
        if rows:
            return Claim(claim_id, int(row.recipient_id), None, [int(r.id) for r in rows], None, 0)
    return None


def name_mail(tx: Tx, claim: Claim, message_id: str) -> None:
    """Store the Message-ID before sending, so a resend after a crash carries the same one."""
    tx.conn.execute(
        update(notifications).where(notifications.c.claim_id == claim.claim_id).values(message_id=message_id)
    )


def recipient_of(conn: Connection, claim: Claim) -> dict[str, Any]:
    """Who a claimed mail goes to: address, name, whether active and whether the address bounces."""
    bouncing = select(email_bounces.c.address).where(email_bounces.c.address == users.c.email).exists()
    recipient = conn.execute(
        select(
            users.c.email, users.c.name, users.c.active, users.c.locale, users.c.timezone, bouncing.label("bouncing")
        ).where(users.c.id == claim.recipient_id)
    ).one()
    return dict(recipient._mapping)


def mail_contents(conn: Connection, claim: Claim) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any] | None]:
    """The recipient, the claimed rows (with their ticket's title and their event's correlation id) and the ticket
    of a one-ticket mail."""
    rows = conn.execute(
        select(
            notifications,
            tickets.c.title.label("ticket_title"),
            tickets.c.requester_id.label("requester_id"),
            events.c.correlation_id,  # None once retention removed the event
        )
        .join(tickets, tickets.c.id == notifications.c.ticket_id)
        .outerjoin(events, events.c.event_id == notifications.c.event_id)
        .where(notifications.c.claim_id == claim.claim_id)
        .order_by(notifications.c.id)
    ).all()
    items = [dict(r._mapping) for r in rows]
    ticket = None
    if claim.ticket_id is not None and items:
        ticket = {"id": claim.ticket_id, "title": items[0]["ticket_title"], "requester_id": items[0]["requester_id"]}
    return recipient_of(conn, claim), items, ticket


def _finish(tx: Tx, claim: Claim, **values: Any) -> int:
    done = tx.conn.execute(
        update(notifications)
        .where(notifications.c.claim_id == claim.claim_id, notifications.c.email_status == claim.claimed_as)
        .values(claim_id=None, **values)
    )
    return int(done.rowcount)


def mark_sent(tx: Tx, claim: Claim, *, message_id: str, reason: str) -> None:
    """The server accepted the mail: record it, and `notification.sent` (or `notification.digest_sent`)."""
    if not _finish(tx, claim, email_status="sent", sent_at=tx.now, last_error=None):
        return  # released as stale meanwhile: whoever sends it again records it
    head = claim.ids[0]
    if claim.is_digest:
        tx.conn.execute(
            update(notification_preferences)
            .where(notification_preferences.c.user_id == claim.recipient_id)
            .values(last_digest_at=tx.now)
        )
        since = tx.conn.execute(select(func.min(notifications.c.created_at)).where(notifications.c.id.in_(claim.ids)))
        tx.emit(
            "notification.digest_sent",
            aggregate_type="notification",
            aggregate_id=head,
            data={
                "recipient_id": claim.recipient_id,
                "channel": "email",
                "notification_count": len(claim.ids),
                "period_start": since.scalar() or tx.now,
                "period_end": tx.now,
            },
        )
        return
    tx.emit(
        "notification.sent",
        aggregate_type="notification",
        aggregate_id=head,
        data={
            "notification_id": head,
            "recipient_id": claim.recipient_id,
            "ticket_id": claim.ticket_id,
            "channel": "email",
            "reason": reason,
            "notification_ids": claim.ids,
            "message_id": message_id,
        },
    )


def mark_cancelled(tx: Tx, claim: Claim, *, why: str) -> None:
    """The claimed mail must not go any more (its reset link was used or replaced meanwhile)."""
    _finish(tx, claim, email_status="cancelled", last_error=why[:2000])


def mark_retry(tx: Tx, claim: Claim, *, error: str, counts: bool, fail: bool, retry_at: datetime) -> None:
    """Sending failed: try again at `retry_at`, or (`fail`) give up with `notification.failed`."""
    attempts = claim.attempts + (1 if counts else 0)
    if not fail:
        back = RETURNS_TO[claim.claimed_as]
        _finish(tx, claim, email_status=back, attempts=attempts, send_after=retry_at, last_error=error[:2000])
        return
    if not _finish(tx, claim, email_status="failed", attempts=attempts, last_error=error[:2000]):
        return
    tx.emit(
        "notification.failed",
        aggregate_type="notification",
        aggregate_id=claim.ids[0],
        data={
            "notification_id": claim.ids[0],
            "recipient_id": claim.recipient_id,
            "channel": "email",
            "error": error[:2000],
            "attempt": attempts,
            "notification_ids": claim.ids,
        },
    )
