"""Account mail (a password reset link): queued in the notification outbox, which the sender job drains.

It lives on the services floor because the account services queue and cancel it; the notifications package
sends it with the same claims, retries and backoff as notification mail.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import insert, update

from nixflow.domain.envelope import EventRecord
from nixflow.store.db import Tx, insert_returning_id
from nixflow.store.tables import notifications


def queue_account_mail(tx: Tx, *, recipient_id: int, kind: str, cause: EventRecord, title: str, reason: str) -> int:
    """Queue a mail about the recipient's account (not a ticket), due at once: the sender job mails it with the
    same claims, retries and backoff as notification mail. It is sent whatever the recipient's notification
    preferences, and is never shown in the app (the rows are `in_app` false). Returns the row's id."""
    row = {
        "recipient_id": recipient_id,
        "kind": kind,
        "ticket_id": None,
        "event_id": cause.event_id,
        "event_type": cause.type,
        "reason": reason[:300],
        "title": title[:300],
        "body": "",
        "in_app": False,
        "created_at": tx.now,
        "email_status": "pending",
        "send_after": tx.now,
        "attempts": 0,
    }
    return int(insert_returning_id(tx.conn, insert(notifications), row))


def cancel_account_mail(tx: Tx, *, notification_ids: Sequence[int]) -> None:
    """Cancel account mail that has not been claimed yet (a superseded reset link's)."""
    if notification_ids:
        tx.conn.execute(
            update(notifications)
            .where(notifications.c.id.in_(notification_ids), notifications.c.email_status == "pending")
            .values(email_status="cancelled")
        )
