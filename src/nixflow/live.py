"""The live hub: committed events fanned out to WebSocket clients, each behind a bounded queue.

The hub only has to be fed `publish(records)` on its event loop, in log order: the log tailer
(events/tail.py) does, with every process's commits, in the order a resuming client reads them.
One fan-out task hands a page to every subscriber, deciding requester visibility with one query per
page for all requester connections; each client's sender wakes once per page and sends it back to
back (per-event wake-ups cost more: each spread-out send also wakes the receiving client).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sqlalchemy import Connection, select

from nixflow.domain.envelope import EventRecord
from nixflow.domain.values import Role
from nixflow.services import ticket_queries, visibility
from nixflow.services.users import Principal
from nixflow.store import event_log
from nixflow.store.tables import events

log = logging.getLogger(__name__)

RESYNC = None  # handed out instead of events once a client has fallen too far behind
RECENT_IDS = 10_000
# Events after which a user's open connections check their credential again (sign-out, revocation, role).
ACCESS_EVENTS = frozenset(
    {
        "user.logout",
        "user.token_revoked",
        "user.deactivated",
        "user.role_changed",
        "user.password_changed",
        "user.erased",
    }
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
    """The records `viewer` may see live (two queries for who sees their tickets)."""
    ids = sorted({t for r in records if (t := ticket_id_of(r)) is not None}) if viewer.role == Role.REQUESTER else []
    owners = ticket_queries.audience_of(conn, ids, [viewer.id])
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
    """One client's events still to send; overflowing the bound turns them into a single RESYNC.

    The client's sender waits on one future at a time (`wait`), which the hub, the client's reader,
    its timers and access events resolve (`wake`): no queue, no task per read.
    """

    __slots__ = ("_waiter", "access_changed", "closed", "notice", "overflowed", "pending", "size", "viewer")

    def __init__(self, viewer: Principal, size: int) -> None:
        self.viewer = viewer
        self.size = size
        self.pending: deque[EventRecord] = deque()
        self.overflowed = False
        self.access_changed = False  # set when the viewer's credential must be checked again
        self.closed = False  # set when the client went away
        self.notice: str | None = None  # a frame from outside the log (presence): only the latest one is sent
        self._waiter: asyncio.Future[None] | None = None

    def offer(self, record: EventRecord) -> None:
        """Queue a record this viewer may see."""
        if self.overflowed:
            return
        if len(self.pending) >= self.size:
            self.resync()
        else:
            self.pending.append(record)
            self.wake()

    def resync(self) -> None:
        """Drop what is queued: the client is told to start again."""
        self.overflowed = True
        self.pending.clear()
        self.wake()

    def take(self) -> list[EventRecord | None]:
        """Everything queued, in order; `[RESYNC]` once overflowed."""
        if self.overflowed:
            return [RESYNC]
        taken: list[EventRecord | None] = list(self.pending)
        self.pending.clear()
        return taken

    def tell(self, frame: str) -> None:
        """Send `frame` with the next wake-up, in place of any notice not sent yet."""
        self.notice = frame
        self.wake()

    def take_notice(self) -> str | None:
        notice, self.notice = self.notice, None
        return notice

    def wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def close(self) -> None:
        self.closed = True
        self.wake()

    async def wait(self) -> None:
        """Until something is queued, or `wake` is called (at once if something already is)."""
        if self.pending or self.overflowed or self.access_changed or self.closed or self.notice is not None:
            return
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None


# Ticket ids and the requesters connected → who of them sees each ticket.
Owners = Callable[[list[int], list[int]], Awaitable[dict[int, visibility.Audience]]]


class LiveHub:
    """Fan-out of committed events to subscribers; never blocks the publisher."""

    def __init__(
        self, *, queue_size: int = 1000, heartbeat_seconds: float = 20.0, recheck_seconds: float = 60.0
    ) -> None:
        self.queue_size = queue_size
        self.heartbeat_seconds = heartbeat_seconds
        # Even with no access event (a token that simply expired), credentials are checked this often.
        self.recheck_seconds = recheck_seconds
        # Ticket id -> requester id, for requesters' exact visibility (bootstrap gives it the database).
        self.owners: Owners | None = None
        self.subscribers: set[Subscriber] = set()
        # Recently published ids: a record handed over twice (say after a feed restarts) goes out once.
        self._recent: deque[str] = deque(maxlen=RECENT_IDS)
        self._recent_set: set[str] = set()
        self._pages: deque[list[EventRecord]] = deque()
        self._fan_out_task: asyncio.Task[None] | None = None

    def publish(self, records: Sequence[EventRecord]) -> None:
        """Take committed records, in commit order, for every subscriber (on the event loop)."""
        page = []
        for record in records:
            if record.event_id in self._recent_set:
                continue
            if len(self._recent) == RECENT_IDS:
                self._recent_set.discard(self._recent[0])
            self._recent.append(record.event_id)
            self._recent_set.add(record.event_id)
            page.append(record)
        if not page or not self.subscribers:
            return
        self._pages.append(page)
        if self._fan_out_task is None:
            self._fan_out_task = asyncio.get_running_loop().create_task(self._fan_out(), name="nixflow-live-hub")

    async def settled(self) -> None:
        """Until every published record has been handed to the subscribers."""
        while self._fan_out_task is not None:
            await asyncio.shield(self._fan_out_task)

    async def _fan_out(self) -> None:
        try:
            while self._pages:
                page = self._pages.popleft()
                owners = await self._owners_for(page)
                for record in page:
                    self._offer(record, owners)
        finally:
            self._fan_out_task = None

    async def _owners_for(self, page: list[EventRecord]) -> dict[int, visibility.Audience]:
        """Who sees each ticket of the page: one lookup for all requester connections.

        If it fails, each requester connection is told to resync (and reads the log again).
        """
        requesters = [s for s in self.subscribers if s.viewer.role == Role.REQUESTER]
        ids = sorted({t for r in page if (t := ticket_id_of(r)) is not None}) if requesters else []
        if self.owners is None or not ids:
            return {}
        try:
            return await self.owners(ids, sorted({s.viewer.id for s in requesters}))
        except Exception as exc:
            log.warning("looking up ticket requesters for live views failed: %s", exc)
            for subscriber in requesters:
                subscriber.resync()
            return {}

    def _offer(self, record: EventRecord, owners: dict[int, visibility.Audience]) -> None:
        ticket = ticket_id_of(record)
        owner = owners.get(ticket) if ticket is not None else None
        access = record.type in ACCESS_EVENTS
        for subscriber in list(self.subscribers):
            viewer = subscriber.viewer
            mine = for_recipient(viewer, record)
            if mine or (mine is None and visibility.may_see(viewer, record, owner)):
                subscriber.offer(record)
            if access and record.aggregate_id == str(viewer.id):
                subscriber.access_changed = True
                subscriber.wake()

    def subscribe(self, viewer: Principal) -> Subscriber:
        subscriber = Subscriber(viewer, self.queue_size)
        self.subscribers.add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self.subscribers.discard(subscriber)
