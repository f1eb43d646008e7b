"""The live hub: committed events fanned out to WebSocket clients, each behind a bounded queue.

The hub only has to be fed `publish(records)` on its event loop, in log order: the log tailer
(events/tail.py) does, with every process's commits, in the order a resuming client reads them.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, select

from nixflow.domain.values import Role
from nixflow.events.envelope import EventRecord
from nixflow.services import ticket_queries, visibility
from nixflow.services.users import Principal
from nixflow.store import event_log
from nixflow.store.tables import events

RESYNC = None  # queued instead of events once a client has fallen too far behind
RECENT_IDS = 10_000
# Events after which a user's open connections check their credential again (sign-out, revocation, role).
ACCESS_EVENTS = frozenset(
    {"user.logout", "user.token_revoked", "user.deactivated", "user.role_changed", "user.password_changed"}
)


def ticket_id_of(record: EventRecord) -> int | None:
    """The ticket an event is about, if any."""
    if record.aggregate_type != "ticket" or not record.aggregate_id.isdigit():
        return None
    return int(record.aggregate_id)


def for_recipient(viewer: Principal, record: EventRecord) -> bool | None:
    """Live, a notification event goes to its recipient only, whatever the role (admins read them in the
    event log); None for every other event."""
    if record.category != "notification":
        return None
    return record.data.get("recipient_id") == viewer.id


def visible(conn: Connection, *, viewer: Principal, records: Sequence[EventRecord]) -> list[EventRecord]:
    """The records `viewer` may see live (one query for the requesters of their tickets)."""
    ids = sorted({t for r in records if (t := ticket_id_of(r)) is not None}) if viewer.role == Role.REQUESTER else []
    owners = ticket_queries.requester_of(conn, ids)
    return [
        r
        for r in records
        if (mine := for_recipient(viewer, r))
        or (mine is None and visibility.may_see(viewer, r, owners.get(ticket_id_of(r) or -1)))
    ]


def notification_message(record: EventRecord) -> dict[str, Any] | None:
    """For a new notification, the `{"type": "notification", ...}` message sent after its envelope."""
    if record.type != "notification.created":
        return None
    return {"type": "notification", "id": record.data["notification_id"], **record.data}


def later_than(conn: Connection, *, records: Sequence[EventRecord], position: event_log.Position) -> list[EventRecord]:
    """The records that come after `position` in the log (a record no longer in the log counts as later)."""
    rows = conn.execute(
        select(events.c.event_id, events.c.txid, events.c.seq).where(
            events.c.event_id.in_([r.event_id for r in records])
        )
    )
    places = {r.event_id: (int(r.txid or 0), int(r.seq)) for r in rows}
    return [r for r in records if places.get(r.event_id, (2**63, 0)) > position]


class Subscriber:
    """One client's queue of events still to send; overflowing it turns it into a single RESYNC."""

    def __init__(self, viewer: Principal, size: int) -> None:
        self.viewer = viewer
        self.queue: asyncio.Queue[EventRecord | None] = asyncio.Queue(maxsize=size)
        self.overflowed = False
        self.access_changed = asyncio.Event()  # set when the viewer's credential must be checked again

    def offer(self, record: EventRecord) -> None:
        if self.overflowed or not self._may_want(record):
            return
        try:
            self.queue.put_nowait(record)
        except asyncio.QueueFull:
            self.overflowed = True
            while not self.queue.empty():
                self.queue.get_nowait()
            self.queue.put_nowait(RESYNC)

    def _may_want(self, record: EventRecord) -> bool:
        # A cheap first cut; the sender makes the exact decision with the ticket's requester.
        mine = for_recipient(self.viewer, record)
        if mine is not None:
            return mine
        if self.viewer.role != Role.REQUESTER:
            return visibility.may_see(self.viewer, record, None)
        return (
            record.aggregate_type == "ticket"
            and record.category in visibility.REQUESTER_CATEGORIES
            and not visibility.is_internal(record)
        )


class LiveHub:
    """Fan-out of committed events to subscribers; never blocks the publisher."""

    def __init__(
        self, *, queue_size: int = 1000, heartbeat_seconds: float = 20.0, recheck_seconds: float = 60.0
    ) -> None:
        self.queue_size = queue_size
        self.heartbeat_seconds = heartbeat_seconds
        # Even with no access event (a token that simply expired), credentials are checked this often.
        self.recheck_seconds = recheck_seconds
        self.subscribers: set[Subscriber] = set()
        # Recently published ids: a record handed over twice (say after a feed restarts) goes out once.
        self._recent: deque[str] = deque(maxlen=RECENT_IDS)
        self._recent_set: set[str] = set()

    def publish(self, records: Sequence[EventRecord]) -> None:
        """Offer committed records, in commit order, to every subscriber (on the event loop)."""
        for record in records:
            if record.event_id in self._recent_set:
                continue
            if len(self._recent) == RECENT_IDS:
                self._recent_set.discard(self._recent[0])
            self._recent.append(record.event_id)
            self._recent_set.add(record.event_id)
            for subscriber in list(self.subscribers):
                subscriber.offer(record)
                if record.type in ACCESS_EVENTS and record.aggregate_id == str(subscriber.viewer.id):
                    subscriber.access_changed.set()

    def subscribe(self, viewer: Principal) -> Subscriber:
        subscriber = Subscriber(viewer, self.queue_size)
        self.subscribers.add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self.subscribers.discard(subscriber)
