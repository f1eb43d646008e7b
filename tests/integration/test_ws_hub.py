"""The live hub on its own: fan-out once per page and view, bounded queues that turn into a resync."""

from __future__ import annotations

import asyncio
import json

from nixflow.domain.envelope import EventRecord
from nixflow.domain.values import Priority, Role
from nixflow.ids import utcnow, uuid7
from nixflow.live import RESYNC, LiveHub, Page, Subscriber
from nixflow.services.users import Principal
from nixflow.services.visibility import Audience

AGENT = Principal(2, Role.AGENT, "agent@example.com", "Agent")
REQUESTER = Principal(3, Role.REQUESTER, "r@example.com", "Requester")


def record(event_type: str = "ticket.commented", *, internal: bool = False, aggregate: str = "ticket") -> EventRecord:
    category = event_type.split(".")[0]
    return EventRecord(
        event_id=uuid7(), type=event_type, category=category, priority=Priority.NORMAL, timestamp=utcnow(),
        aggregate_type=aggregate, aggregate_id="7", data={"ticket_id": 7, "internal": internal},
        metadata={"correlation_id": uuid7()},
    )  # fmt: skip


def flat(pages: list[Page | None]) -> list[EventRecord | None]:
    """The records of taken pages, in order (RESYNC stays as it is)."""
    return [r for page in pages for r in ([RESYNC] if page is None else page.records)]


async def drain(hub: LiveHub, sub: Subscriber) -> list[EventRecord | None]:
    """What `sub` has to send once the hub has handed over everything published."""
    await hub.settled()
    return flat(sub.take())


async def owners_of_ticket_7(ids: list[int], people: list[int]) -> dict[int, Audience]:
    return {7: Audience(REQUESTER.id)} if 7 in ids else {}


async def test_a_record_fed_twice_goes_out_once_in_order() -> None:
    hub = LiveHub()
    sub = hub.subscribe(AGENT)
    first, second = record(), record()
    hub.publish([first, second])
    hub.publish([first])  # the same record from a second feed
    assert await drain(hub, sub) == [first, second]


async def test_an_overflowing_client_gets_one_resync_and_the_others_everything() -> None:
    hub = LiveHub(queue_size=3)
    slow, fast = hub.subscribe(AGENT), hub.subscribe(AGENT)
    records = [record() for _ in range(5)]
    for r in records[:3]:
        hub.publish([r])
    assert await drain(hub, fast) == records[:3]
    for r in records[3:]:
        hub.publish([r])
    assert await drain(hub, slow) == [RESYNC]
    assert slow.overflowed
    assert await drain(hub, fast) == records[3:]


async def test_requesters_get_their_own_tickets_public_events_only() -> None:
    hub = LiveHub()
    hub.owners = owners_of_ticket_7
    mine, other = hub.subscribe(REQUESTER), hub.subscribe(Principal(4, Role.REQUESTER, "o@example.com", "Other"))
    public = record()
    hub.publish([record(internal=True), record("user.created", aggregate="user"), public])
    assert await drain(hub, mine) == [public]
    assert await drain(hub, other) == []


async def test_one_owner_lookup_per_page_for_every_requester_connection() -> None:
    hub = LiveHub()
    asked: list[list[int]] = []

    async def owners(ids: list[int], people: list[int]) -> dict[int, Audience]:
        asked.append(ids)
        return await owners_of_ticket_7(ids, people)

    hub.owners = owners
    subs = [hub.subscribe(REQUESTER) for _ in range(50)]
    page = [record(), record()]
    hub.publish(page)
    assert [await drain(hub, sub) for sub in subs] == [page] * 50
    assert asked == [[7]]


async def test_requesters_are_told_to_resync_when_the_owners_cannot_be_read() -> None:
    hub = LiveHub()

    async def down(ids: list[int], people: list[int]) -> dict[int, Audience]:
        raise ConnectionError("database unavailable")

    hub.owners = down
    requester, agent = hub.subscribe(REQUESTER), hub.subscribe(AGENT)
    event = record()
    hub.publish([event])
    assert await drain(hub, requester) == [RESYNC]
    assert await drain(hub, agent) == [event]


async def test_a_page_wakes_each_client_once_with_all_of_it_in_order() -> None:
    hub = LiveHub()
    subs = [hub.subscribe(AGENT) for _ in range(3)]
    first, second = record(), record()
    seen: list[tuple[int, list[EventRecord | None]]] = []

    async def sender(n: int) -> None:
        got = 0
        while got < 2:
            await subs[n].wait()
            taken = flat(subs[n].take())
            seen.append((n, taken))
            got += len(taken)

    senders = [asyncio.create_task(sender(n)) for n in range(3)]
    await asyncio.sleep(0)
    hub.publish([first, second])
    await asyncio.wait_for(asyncio.gather(*senders), 5)
    assert sorted(n for n, _ in seen) == [0, 1, 2]
    assert [taken for _, taken in seen] == [[first, second]] * 3


async def test_subscribers_with_one_view_share_one_page_and_its_text() -> None:
    hub = LiveHub()
    hub.owners = owners_of_ticket_7
    other_agent = Principal(5, Role.AGENT, "b@example.com", "Other agent")
    one, two, requester = hub.subscribe(AGENT), hub.subscribe(other_agent), hub.subscribe(REQUESTER)
    public, internal = record(), record(internal=True)
    hub.publish([public, internal])
    await hub.settled()
    [page], [same], [own] = one.take(), two.take(), requester.take()
    assert page is same and page is not None and page.records == [public, internal]
    assert page.frame(AGENT) is same.frame(other_agent), "the frame is made once for the view"
    assert [m["event_id"] for m in json.loads(page.frame(AGENT))] == [public.event_id, internal.event_id]
    assert own is not None and own.records == [public]
    assert [m["event_id"] for m in json.loads(own.frame(REQUESTER))] == [public.event_id]


async def test_a_notification_in_a_page_gives_each_staff_member_their_own_view() -> None:
    hub = LiveHub()
    other_agent = Principal(5, Role.AGENT, "b@example.com", "Other agent")
    mine, theirs = hub.subscribe(AGENT), hub.subscribe(other_agent)
    comment = record()
    note = EventRecord(
        event_id=uuid7(), type="notification.created", category="notification", priority=Priority.NORMAL,
        timestamp=utcnow(), aggregate_type="notification", aggregate_id="1",
        data={"recipient_id": AGENT.id, "notification_id": 1, "ticket_id": 7}, metadata={"correlation_id": uuid7()},
    )  # fmt: skip
    hub.publish([comment, note])
    assert await drain(hub, mine) == [comment, note]
    assert await drain(hub, theirs) == [comment]
