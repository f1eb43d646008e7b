"""What the metrics endpoint reads from the database at scrape time: one cheap, indexed query each.

Unfinished events use the partial index `ix_events_unfinished` (only unfinished rows are in it); the log head
is the primary key's maximum; webhook cursors are one row per subscription; the notification outbox's oldest
waiting mail uses `ix_notifications_email_due`. No query scans the log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, select, text

from nixflow.store.tables import UNFINISHED_SQL, events, notifications, webhooks


@dataclass(frozen=True)
class Gauges:
    unfinished_events: int
    oldest_unfinished_at: datetime | None
    head_seq: int
    webhook_cursors: dict[int, int]  # subscription id -> the log seq it has fanned out up to
    outbox_waiting: int
    oldest_waiting_mail_at: datetime | None


def read(conn: Connection) -> Gauges:
    """The scrape-time figures, as of now."""
    unfinished = conn.execute(
        select(func.count(), func.min(events.c.timestamp)).select_from(events).where(text(UNFINISHED_SQL))
    ).one()
    head = conn.execute(select(func.max(events.c.seq))).scalar()
    cursors = conn.execute(select(webhooks.c.id, webhooks.c.cursor_seq).where(webhooks.c.disabled_at.is_(None)))
    waiting = conn.execute(
        select(func.count(), func.min(notifications.c.send_after)).where(notifications.c.email_status == "pending")
    ).one()
    return Gauges(
        unfinished_events=int(unfinished[0]),
        oldest_unfinished_at=unfinished[1],
        head_seq=int(head or 0),
        webhook_cursors={int(row.id): int(row.cursor_seq) for row in cursors},
        outbox_waiting=int(waiting[0]),
        oldest_waiting_mail_at=waiting[1],
    )
