"""The hub: each page of the log filtered once per view and queued for every subscriber, behind a bounded queue."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Sequence

from nixflow.domain.envelope import EventRecord
from nixflow.domain.values import Role
from nixflow.live.views import Page, may_see_live, personal, ticket_id_of
from nixflow.services import visibility
from nixflow.services.users import Principal

log = logging.getLogger(__name__)

RESYNC = None  # handed out instead of pages once a client has fallen too far behind
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


class Subscriber:
    """One client's pages still to send; overflowing the bound (in events) turns them into a single RESYNC.

    The client's sender waits on one future at a time (`wait`), which the hub, the client's reader,
    its timers and access events resolve (`wake`): no queue, no task per read.
    """

    __slots__ = ("_waiter", "access_changed", "closed", "notice", "overflowed", "pending", "queued", "size", "viewer")

    def __init__(self, viewer: Principal, size: int) -> None:
        self.viewer = viewer
        self.size = size
        self.pending: deque[Page] = deque()
        self.queued = 0  # events in `pending`
        self.overflowed = False
        self.access_changed = False  # set when the viewer's credential must be checked again
        self.closed = False  # set when the client went away
        self.notice: str | None = None  # a frame from outside the log (presence): only the latest one is sent
        self._waiter: asyncio.Future[None] | None = None

    def offer(self, page: Page) -> None:
        """Queue a page of events this viewer may see."""
        if self.overflowed:
            return
        if self.queued + len(page.records) > self.size:
            self.resync()
        else:
            self.pending.append(page)
            self.queued += len(page.records)
            self.wake()

    def resync(self) -> None:
        """Drop what is queued: the client is told to start again."""
        self.overflowed = True
        self.pending.clear()
        self.queued = 0
        self.wake()

    def take(self) -> list[Page | None]:
        """Every page queued, in order; `[RESYNC]` once overflowed."""
        if self.overflowed:
            return [RESYNC]
        taken: list[Page | None] = list(self.pending)
        self.pending.clear()
        self.queued = 0
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
                self._hand_over(page, await self._owners_for(page))
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

    def _hand_over(self, page: list[EventRecord], owners: dict[int, visibility.Audience]) -> None:
        """Filter the page once per view (staff of one role share one, unless an event in it is personal;
        a requester's is their own) and queue the result for each subscriber with that view."""
        by_person = any(personal(r) for r in page)
        access = {r.aggregate_id for r in page if r.type in ACCESS_EVENTS}
        views: dict[tuple[Role, int], Page | None] = {}
        for subscriber in list(self.subscribers):
            viewer = subscriber.viewer
            key = (viewer.role, viewer.id if by_person or not viewer.is_staff else 0)
            if key not in views:
                kept = [r for r in page if may_see_live(viewer, r, owners)]
                views[key] = Page(kept) if kept else None
            view = views[key]
            if view is not None:
                subscriber.offer(view)
            if access and str(viewer.id) in access:
                subscriber.access_changed = True
                subscriber.wake()

    def subscribe(self, viewer: Principal) -> Subscriber:
        subscriber = Subscriber(viewer, self.queue_size)
        self.subscribers.add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self.subscribers.discard(subscriber)
