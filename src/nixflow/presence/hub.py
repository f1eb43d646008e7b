"""The presence hub: what this process's WebSocket clients say about the ticket page they are on, and what they
are told about everyone else on it.

A client sends `{"type": "presence", "ticket_id": 12, "typing": false}` when it opens a ticket's page, starts or
stops typing, and `{"type": "presence", "ticket_id": null}` when it leaves. The process that holds the socket
writes the entry to the store and refreshes it while the socket is open; closing the socket removes it, and a
process that dies leaves entries that expire with their TTL. Clients on a ticket get
`{"type": "presence", "ticket_id": 12, "people": [{"user_id", "name", "typing"}]}` (everyone else on it) at once
when someone on this process changes, and within `poll_seconds` when someone elsewhere does (the store is read
for every ticket this process has clients on). Requesters take no part: they neither announce nor read.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
from sqlalchemy import Connection

from nixflow.domain.errors import NotFound
from nixflow.presence.store import Presence, PresenceStore
from nixflow.services import tickets
from nixflow.services.users import Principal

log = logging.getLogger(__name__)

FRAME_LIMIT = 200  # characters: a presence frame is a few dozen; a longer message is dropped unread
RATE_PER_SECOND = 2.0  # frames a socket may send, sustained; typing is sent at most every few seconds
BURST = 8

# May this viewer be seen on this ticket's page? (bootstrap gives it the database)
Allowed = Callable[[Principal, int], Awaitable[bool]]


@dataclass(frozen=True)
class Announce:
    """What a client says: the ticket page it is on (None: none) and whether it is typing a reply there."""

    ticket_id: int | None
    typing: bool = False


def parse(text: str) -> Announce | None:
    """A client's presence frame, or None for anything else (too long, not JSON, unknown keys, wrong types)."""
    if len(text) > FRAME_LIMIT:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("type") != "presence" or set(data) - {"type", "ticket_id", "typing"}:
        return None
    ticket_id, typing = data.get("ticket_id"), data.get("typing", False)
    if type(typing) is not bool or not (ticket_id is None or (type(ticket_id) is int and 0 < ticket_id < 2**63)):
        return None
    return Announce(ticket_id, typing and ticket_id is not None)


def ticket_visible(conn: Connection, *, viewer: Principal, ticket_id: int) -> bool:
    """Whether `viewer` may open the ticket's page (the one visibility rule of the ticket API)."""
    try:
        tickets.load(conn, ticket_id=ticket_id, viewer=viewer)
    except NotFound:
        return False
    return True


class Session:
    """One socket's presence: the ticket it is on, and what its client was last told."""

    __slots__ = ("_allowance", "_checked_at", "connection", "deliver", "sent", "ticket_id", "typing", "viewer")

    def __init__(self, viewer: Principal, deliver: Callable[[str], None], now: float) -> None:
        self.connection = secrets.token_hex(8)
        self.viewer = viewer
        self.deliver = deliver  # hands a frame to the socket's sender
        self.ticket_id: int | None = None
        self.typing = False
        self.sent: str | None = None
        self._allowance = float(BURST)
        self._checked_at = now

    def within_rate(self, now: float) -> bool:
        """Whether one more frame from this client may be taken now (a token bucket)."""
        self._allowance = min(float(BURST), self._allowance + (now - self._checked_at) * RATE_PER_SECOND)
        self._checked_at = now
        if self._allowance < 1:
            return False
        self._allowance -= 1
        return True

    def show(self, frame: str) -> None:
        """Hand `frame` to the client unless it says what the client was last told."""
        if frame != self.sent:
            self.sent = frame
            self.deliver(frame)


def frame_for(viewer: Principal, ticket_id: int, present: list[Presence]) -> str:
    """What `viewer` is told about a ticket: each other person on it once, typing if any of their tabs is."""
    people: dict[int, dict[str, Any]] = {}
    for p in present:
        if p.user_id != viewer.id:
            person = people.setdefault(p.user_id, {"user_id": p.user_id, "name": p.name, "typing": False})
            person["typing"] = person["typing"] or p.typing
    shown = sorted(people.values(), key=lambda person: (person["name"], person["user_id"]))
    return json.dumps({"type": "presence", "ticket_id": ticket_id, "people": shown}, separators=(",", ":"))


class PresenceHub:
    """This process's presence sessions, its writes to the store, and the one task that refreshes and reads it."""

    def __init__(
        self,
        store: PresenceStore,
        *,
        ttl_seconds: float = 30.0,
        poll_seconds: float = 1.0,
        allowed: Allowed | None = None,
    ) -> None:
        self.store = store
        self.ttl_seconds = ttl_seconds
        self.poll_seconds = poll_seconds
        self.allowed = allowed  # None: nobody may announce (a hub built without a database)
        self.on_ticket: dict[int, set[Session]] = {}
        self._poller: asyncio.Task[None] | None = None
        self._failing = False

    def open(self, viewer: Principal, deliver: Callable[[str], None]) -> Session | None:
        """A session for a new socket; None for a requester, who may neither announce presence nor read it."""
        if not viewer.is_staff:
            return None
        return Session(viewer, deliver, asyncio.get_running_loop().time())

    async def receive(self, session: Session, text: str) -> None:
        """Take a client's message: a presence frame moves or changes its session; anything else is ignored."""
        if not session.within_rate(asyncio.get_running_loop().time()):
            return
        announce = parse(text)
        if announce is None or (announce.ticket_id, announce.typing) == (session.ticket_id, session.typing):
            return
        ticket_id = announce.ticket_id
        if ticket_id is not None and ticket_id != session.ticket_id and not await self._may_be_on(session, ticket_id):
            return
        await self._move(session, ticket_id, announce.typing)

    async def _may_be_on(self, session: Session, ticket_id: int) -> bool:
        return self.allowed is not None and await self.allowed(session.viewer, ticket_id)

    async def close(self, session: Session) -> None:
        """The socket went away: its presence ends now."""
        await self._move(session, None, False)

    async def _move(self, session: Session, ticket_id: int | None, typing: bool) -> None:
        left = session.ticket_id if session.ticket_id != ticket_id else None
        session.ticket_id, session.typing = ticket_id, typing
        if left is not None:
            here = self.on_ticket.get(left, set())
            here.discard(session)
            if not here:
                self.on_ticket.pop(left, None)
            session.sent = None
            await self._store(self.store.remove, left, session.connection)
            await self._show(left)
        if ticket_id is not None:
            self.on_ticket.setdefault(ticket_id, set()).add(session)
            await self._write(session)
            await self._show(ticket_id)
            if self._poller is None:
                self._poller = asyncio.get_running_loop().create_task(self._poll(), name="nixflow-presence")

    async def _write(self, session: Session) -> None:
        if session.ticket_id is None:
            return
        presence = Presence(session.connection, session.viewer.id, session.viewer.name, session.typing)
        await self._store(self.store.put, session.ticket_id, presence, self.ttl_seconds)

    async def _show(self, ticket_id: int) -> None:
        """Tell this process's clients on a ticket who else is on it (those whose view changed)."""
        here = self.on_ticket.get(ticket_id)
        if not here:
            return
        present: list[Presence] | None = await self._store(self.store.on_ticket, ticket_id)
        if present is None:
            return
        for session in list(here):
            if session.ticket_id == ticket_id:
                session.show(frame_for(session.viewer, ticket_id, present))

    async def _poll(self) -> None:
        """While this process has clients on tickets: refresh their entries a few times per TTL, and read the
        store for each of those tickets (others' arrivals, changes, departures and expiries)."""
        loop = asyncio.get_running_loop()
        refreshed_at = loop.time()
        try:
            while self.on_ticket:
                await asyncio.sleep(self.poll_seconds)
                if loop.time() - refreshed_at >= self.ttl_seconds / 3:
                    refreshed_at = loop.time()
                    for session in [s for here in list(self.on_ticket.values()) for s in here]:
                        await self._write(session)
                for ticket_id in list(self.on_ticket):
                    await self._show(ticket_id)
        finally:
            self._poller = None

    async def _store(self, call: Callable[..., Any], *args: Any) -> Any:
        """Run a store call off the loop; a failing store (Redis down) is logged once, and presence waits."""
        try:
            result = await anyio.to_thread.run_sync(call, *args)
        except Exception as exc:
            if not self._failing:
                log.warning("presence store failed: %s", exc)
            self._failing = True
            return None
        if self._failing:
            log.info("presence store works again")
        self._failing = False
        return result
