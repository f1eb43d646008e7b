"""The presence hub over the in-memory store, no server: the process holding a socket refreshes its entry while the
socket is open and removes it on close; what another process writes (and its expiry) reaches clients by the poll."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

from nixflow.domain.values import Role
from nixflow.presence.hub import PresenceHub
from nixflow.presence.store import MemoryPresence, Presence
from nixflow.services.users import Principal

ANN = Principal(id=3, role=Role.AGENT, email="ann@example.com", name="Ann")
RITA = Principal(id=9, role=Role.REQUESTER, email="rita@example.com", name="Rita")


class CountingPresence(MemoryPresence):
    def __init__(self) -> None:
        super().__init__()
        self.puts: list[Presence] = []

    def put(self, ticket_id: int, presence: Presence, ttl_seconds: float) -> None:
        self.puts.append(presence)
        super().put(ticket_id, presence, ttl_seconds)


async def anyone(_viewer: Principal, _ticket_id: int) -> bool:
    return True


async def until(condition: Callable[[], bool]) -> None:
    """Until `condition()` holds, checked every 10 ms; fails after 5 s."""
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("not within 5 s")


async def test_an_open_socket_keeps_its_entry_fresh_and_closing_ends_it() -> None:
    store = CountingPresence()
    hub = PresenceHub(store, ttl_seconds=1.0, poll_seconds=0.05, allowed=anyone)
    assert hub.open(RITA, print) is None  # a requester gets no session: nothing to announce with, nothing told
    session = hub.open(ANN, lambda _frame: None)
    assert session is not None
    await hub.receive(session, json.dumps({"type": "presence", "ticket_id": 12}))
    await until(lambda: len(store.puts) >= 3)  # rewritten every TTL/3 with nothing said by the client
    assert store.on_ticket(12) == [Presence(session.connection, ANN.id, "Ann")]
    await hub.close(session)
    assert store.on_ticket(12) == []
    await until(lambda: hub._poller is None)  # nobody left on a ticket here: the poll stops


async def test_another_process_arrival_and_expiry_reach_clients_by_the_poll() -> None:
    store = MemoryPresence()
    hub = PresenceHub(store, ttl_seconds=30.0, poll_seconds=0.05, allowed=anyone)
    frames: list[dict[str, object]] = []
    session = hub.open(ANN, lambda frame: frames.append(json.loads(frame)))
    assert session is not None
    await hub.receive(session, json.dumps({"type": "presence", "ticket_id": 12}))
    assert frames == [{"type": "presence", "ticket_id": 12, "people": []}]
    store.put(12, Presence("elsewhere", 4, "Bob", typing=True), 0.3)  # written by another process, then it dies
    await until(lambda: len(frames) >= 3)
    assert frames[1:] == [
        {"type": "presence", "ticket_id": 12, "people": [{"user_id": 4, "name": "Bob", "typing": True}]},
        {"type": "presence", "ticket_id": 12, "people": []},  # its TTL ran out: gone without a word from it
    ]
    await hub.close(session)
