"""The live hub on its own: fan-out once per event, bounded queues that turn into a resync."""

from __future__ import annotations

import asyncio

from nixflow.domain.values import Priority, Role
from nixflow.events.envelope import EventRecord
from nixflow.ids import utcnow, uuid7
from nixflow.services.users import Principal
from nixflow.web.live import RESYNC, LiveHub

AGENT = Principal(2, Role.AGENT, "agent@example.com", "Agent")
REQUESTER = Principal(3, Role.REQUESTER, "r@example.com", "Requester")


def record(event_type: str = "ticket.commented", *, internal: bool = False, aggregate: str = "ticket") -> EventRecord:
    category = event_type.split(".")[0]
    return EventRecord(
        event_id=uuid7(), type=event_type, category=category, priority=Priority.NORMAL, timestamp=utcnow(),
        aggregate_type=aggregate, aggregate_id="7", data={"ticket_id": 7, "internal": internal},
        metadata={"correlation_id": uuid7()},
    )  # fmt: skip


def drain(queue: asyncio.Queue[EventRecord | None]) -> list[EventRecord | None]:
    items = []
    while not queue.empty():
        items.append(queue.get_nowait())
    return items


async def test_a_record_fed_twice_goes_out_once_in_order() -> None:
    hub = LiveHub()
    sub = hub.subscribe(AGENT)
    first, second = record(), record()
    hub.publish([first, second])
    hub.publish([first])  # the same record from a second feed
    assert drain(sub.queue) == [first, second]


async def test_an_overflowing_client_gets_one_resync_and_the_others_everything() -> None:
    hub = LiveHub(queue_size=3)
    slow, fast = hub.subscribe(AGENT), hub.subscribe(AGENT)
    records = [record() for _ in range(5)]
    for r in records[:3]:
        hub.publish([r])
    assert drain(fast.queue) == records[:3]
    for r in records[3:]:
        hub.publish([r])
    assert slow.overflowed and drain(slow.queue) == [RESYNC]
    assert drain(fast.queue) == records[3:]


async def test_requester_queues_never_hold_staff_only_events() -> None:
    hub = LiveHub()
    sub = hub.subscribe(REQUESTER)
    public = record()
    hub.publish([record(internal=True), record("user.created", aggregate="user"), public])
    assert drain(sub.queue) == [public]
