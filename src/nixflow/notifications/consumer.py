"""The notification consumer: a handler that turns events into notification rows, never sending anything.

It runs with its receipt in the transaction of its effect (possibly the very request that emitted the
event), so it does no network I/O: the sender job (`notifications/sender.py`) mails what is due.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam, insert, select, update

from nixflow.domain.envelope import EventRecord
from nixflow.domain.values import AUTO_MAIL_SOURCE
from nixflow.events.bus import Handler
from nixflow.notifications import preferences, recipients
from nixflow.notifications.model import Draft
from nixflow.store.db import Tx
from nixflow.store.fast import Fast
from nixflow.store.tables import SYSTEM_USER_ID, events, notifications

HANDLER_NAME = "notifications.make"
WAITING = ("pending", "digest")  # mail not gone yet: a later change may still cancel it


@dataclass(frozen=True)
class NotifyConfig:
    """What the consumer needs to know: whether mail is on, and the holding window."""

    email: bool = False
    delay_seconds: float = 30.0


def causers(tx: Tx, record: EventRecord) -> set[int]:
    """Who caused the change: its actor, or, for automation, whoever started the chain of events (found in
    this unit of work when the chain started here, else in the log)."""
    actor = record.actor_id
    if actor is not None and actor != SYSTEM_USER_ID:
        return {actor}
    roots = (e for e in tx.events if e.correlation_id == record.correlation_id and e.causation_id is None)
    here = next(roots, None)
    if here is not None:
        return set() if here.actor_id is None else {here.actor_id}
    root = tx.conn.execute(
        select(events.c.actor_id)
        .where(events.c.correlation_id == record.correlation_id)
        .order_by(events.c.seq)
        .limit(1)
    ).scalar()
    return {int(root)} if root is not None else set()


def _cancel_waiting(tx: Tx, *, recipient_id: int, ticket_id: int, kind: str) -> list[dict[str, Any]]:
    """Cancel the mail still waiting about `kind` on this ticket for this recipient; return what it said."""
    rows = tx.conn.execute(
        select(notifications.c.id, notifications.c.change)
        .where(
            notifications.c.recipient_id == recipient_id,
            notifications.c.ticket_id == ticket_id,
            notifications.c.kind == kind,
            notifications.c.email_status.in_(WAITING),
        )
        .order_by(notifications.c.id)
    ).all()
    if rows:
        tx.conn.execute(
            update(notifications)
            .where(notifications.c.id.in_([r.id for r in rows]), notifications.c.email_status.in_(WAITING))
            .values(email_status="cancelled")
        )
    return [dict(r.change or {}) for r in rows]


_COLUMNS = (
    "recipient_id", "kind", "ticket_id", "event_id", "event_type", "rule_id", "reason", "title", "title_key",
    "title_params", "body", "change",
    "in_app", "created_at", "email_status", "send_after", "attempts",
)  # fmt: skip
_INSERT = Fast(insert(notifications).values({c: bindparam(c) for c in _COLUMNS}))


class NotificationConsumer:
    """Makes notifications from events, once per event (its receipt commits with the rows)."""

    def __init__(self, config: NotifyConfig) -> None:
        self.config = config

    def handler(self) -> Handler:
        """Making notifications, on the events `recipients` plans for (`nixflow/event_handlers.py` subscribes it)."""
        return Handler(HANDLER_NAME, self.handle)

    def handle(self, tx: Tx, record: EventRecord) -> None:
        drafts = recipients.plan(tx, record)
        if not drafts:
            return
        skip = causers(tx, record)
        if record.type == "ticket.assigned":
            drafts = self._undo_assignment(tx, record, drafts)
        for draft in drafts:
            if draft.recipient_id not in skip:
                self._make(tx, record, draft)

    def _undo_assignment(self, tx: Tx, record: EventRecord, drafts: list[Draft]) -> list[Draft]:
        """Assigned A -> B -> A inside the holding window: B's mail is cancelled and A is told nothing."""
        previous, new = record.data.get("previous_assignee_id"), record.data.get("assignee_id")
        if previous is None:
            return drafts
        undone = _cancel_waiting(tx, recipient_id=int(previous), ticket_id=int(record.aggregate_id), kind="assigned")
        if undone and undone[0].get("old") == new:
            return [d for d in drafts if d.recipient_id != new]
        return drafts

    def _make(self, tx: Tx, record: EventRecord, draft: Draft) -> None:
        prefs = preferences.current(tx, user_id=draft.recipient_id)
        ticket_id: int | None = record.data.get("ticket_id")  # None: an event about no ticket (in-app only)
        in_app = prefs.wants("in_app", draft.kind)
        # What an automatic mail (an auto-reply) caused is never mailed about: two auto-responders never loop.
        automatic = record.metadata.get("source") == AUTO_MAIL_SOURCE
        email = self.config.email and ticket_id is not None and prefs.wants("email", draft.kind) and not automatic
        if not (in_app or email):
            return
        email_status: str | None = None
        if email and ticket_id is not None:
            email_status = "pending" if prefs.digest == "off" else "digest"
            if draft.change is not None and draft.change["field"] == "status":
                undone = _cancel_waiting(tx, recipient_id=draft.recipient_id, ticket_id=ticket_id, kind=draft.kind)
                if undone and undone[0].get("old") == draft.change["new"]:
                    email_status = "cancelled"  # back where it was when the first mail was held: say nothing
                elif undone:  # one mail for the whole move, from the first old status
                    old, new = undone[0].get("old"), draft.change["new"]
                    change = {**draft.change, "old": old}
                    draft = dataclasses.replace(draft, change=change, body=f"Status: {new} (was {old})")
        row = {
            "recipient_id": draft.recipient_id,
            "kind": draft.kind,
            "ticket_id": ticket_id,
            "event_id": record.event_id,
            "event_type": record.type,
            "rule_id": record.rule_id,
            "reason": draft.reason[:300],
            "title": draft.title.english,
            "title_key": draft.title.key,
            "title_params": dict(draft.title.params),
            "body": draft.body,
            "change": draft.change,
            "in_app": in_app,
            "created_at": tx.now,
            "email_status": email_status,
            "send_after": tx.now + timedelta(seconds=self.config.delay_seconds) if email else None,
            "attempts": 0,
        }
        notification_id = _INSERT.inserted_id(tx.conn, row)
        if in_app:
            tx.emit(
                "notification.created",
                aggregate_type="notification",
                aggregate_id=notification_id,
                data={
                    "notification_id": notification_id,
                    "recipient_id": draft.recipient_id,
                    "kind": draft.kind,
                    "ticket_id": ticket_id,
                    "title": draft.title.english,
                    "reason": draft.reason[:300],
                    "cause_event_id": record.event_id,
                },
            )
