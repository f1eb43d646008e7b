"""Webhooks against a real HTTP receiver that verifies every signature with the Standard Webhooks library, in both
modes: order per ticket, retries with one webhook-id, an outage, replay, secret rotation, 410, shadow."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from tests.conftest import Harness, ManualClock, User, start
from tests.webhook_receiver import Receiver, stored_subscription, webhook_receiver

from nixflow.bootstrap import build
from nixflow.config import Settings

SCALE = 0.01  # retries after 0.05 s, 0.3 s, 3 s, 18 s, ...


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with webhook_receiver() as running:
        yield running


@pytest.fixture
def hook_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"webhook_allow_private": True, "webhook_retry_scale": SCALE})


@pytest.fixture
async def h(hook_settings: Settings) -> AsyncIterator[Harness]:
    async for running in start(hook_settings):
        yield running


async def subscribe(h: Harness, admin: User, receiver: Receiver, *event_types: str, **extra: Any) -> dict[str, Any]:
    """A subscription to the receiver, whose secret the receiver then verifies with."""
    body = {"url": receiver.url, "event_types": list(event_types), **extra}
    made = await h.client.post("/api/webhooks", json=body, headers=admin.headers)
    assert made.status_code == 201, made.text
    created: dict[str, Any] = made.json()
    assert created["secret"].startswith("whsec_")
    receiver.secrets.append(created["secret"])
    return created


async def open_ticket(h: Harness, user: User, title: str, **extra: Any) -> int:
    made = await h.client.post("/api/tickets", json={"title": title, **extra}, headers=user.headers)
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


async def timeline(h: Harness, admin: User, ticket_id: int, prefix: str = "ticket.") -> list[str]:
    """The ticket's events of the given kind, in log order (what a `ticket.*` subscription must get)."""
    await h.settle()
    found = await h.client.get(f"/api/tickets/{ticket_id}/events", headers=admin.headers)
    return [e["event_id"] for e in found.json() if e["type"].startswith(prefix)]


async def arrived(receiver: Receiver, count: int, within: float = 30) -> list[Any]:
    got = await asyncio.to_thread(receiver.wait_for, count, within)
    for request in got:
        assert request.verified_by, f"signature of {request.webhook_id} does not verify"
    return got


async def deliveries(h: Harness, admin: User, webhook_id: int) -> list[dict[str, Any]]:
    found = await h.client.get(f"/api/webhooks/{webhook_id}/deliveries?limit=500", headers=admin.headers)
    assert found.status_code == 200, found.text
    items: list[dict[str, Any]] = found.json()["items"]
    return items


async def until(check: Any, within: float = 30) -> Any:
    deadline = asyncio.get_running_loop().time() + within
    while True:
        value = await check()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.1)


async def test_a_created_and_assigned_ticket_arrives_as_its_events_in_order(h: Harness, receiver: Receiver) -> None:
    admin = await h.user("admin")
    category = await h.client.post("/api/categories", json={"name": "Printers"}, headers=admin.headers)
    agent = await h.user("agent", category_ids=[category.json()["id"]])
    hook = await subscribe(h, admin, receiver, "ticket.*")
    requester = await h.user("requester")  # a user event after the subscription: not ticket.*, so not sent

    ticket_id = await open_ticket(h, requester, "Printer is down", category_id=category.json()["id"])
    expected = await timeline(h, admin, ticket_id)
    got = await arrived(receiver, len(expected))

    assert [r.webhook_id for r in got] == expected
    types = [r.body["type"] for r in got]
    assert types[0] == "ticket.created" and "ticket.assigned" in types
    assert got[types.index("ticket.assigned")].body["data"]["assignee_id"] == agent.id
    for request in got:
        shown = await h.client.get(f"/api/events/{request.webhook_id}", headers=admin.headers)
        assert request.body == shown.json()  # the envelope exactly as the API shows it
        assert request.headers["content-type"] == "application/json"
        assert request.headers["webhook-signature"].startswith("v1,")
    # A later event of the same ticket goes only once every earlier delivery of it is done: up to it, nothing twice.
    said = await h.client.post(f"/api/tickets/{ticket_id}/comments", json={"body": "later"}, headers=admin.headers)
    assert said.status_code == 201, said.text
    later = await timeline(h, admin, ticket_id)
    upto = await asyncio.to_thread(receiver.until, later[-1])
    assert [r.webhook_id for r in upto] == later
    # Fan-out reads the log in order, so the later event's delivery exists only once everything before it was
    # read: nothing else was taken (user events are not ticket.*).
    assert sorted(d["event_id"] for d in await deliveries(h, admin, hook["id"])) == sorted(later)


async def test_a_receiver_answering_500_twice_then_200_gets_the_same_webhook_id_three_times(
    h: Harness, receiver: Receiver
) -> None:
    admin = await h.user("admin")
    hook = await subscribe(h, admin, receiver, "ticket.created")
    receiver.script = [500, 500]
    await open_ticket(h, admin, "Retry me")

    got = await arrived(receiver, 3)
    assert len({r.webhook_id for r in got}) == 1
    created = (await h.events(type="ticket.created"))[-1]
    assert got[0].webhook_id == created["event_id"]
    now = time.time()  # each attempt is stamped when it is sent (receivers refuse old timestamps)
    assert all(now - 60 < int(r.headers["webhook-timestamp"]) <= now + 1 for r in got)

    done = await until(lambda: _succeeded(h, admin, hook["id"]))
    assert done["attempts"] == 3 and done["last_status_code"] == 200 and done["last_error"] is None
    detail = await h.client.get(f"/api/webhooks/{hook['id']}/deliveries/{done['id']}", headers=admin.headers)
    history = detail.json()["history"]
    assert [a["status_code"] for a in history] == [500, 500, 200]
    assert history[0]["error"] == "the receiver answered 500"
    assert history[0]["response_excerpt"] == "answered 500"
    assert all(a["latency_ms"] is not None for a in history)


async def _succeeded(h: Harness, admin: User, webhook_id: int) -> dict[str, Any] | None:
    items = await deliveries(h, admin, webhook_id)
    return items[0] if items and items[0]["status"] == "succeeded" else None


async def test_a_receiver_that_was_down_gets_everything_afterwards_in_order(h: Harness, receiver: Receiver) -> None:
    admin = await h.user("admin")
    agent = await h.user("agent")
    hook = await subscribe(h, admin, receiver, "ticket.*")
    receiver.down()

    first = await open_ticket(h, admin, "First while down")
    second = await open_ticket(h, admin, "Second while down")
    for ticket_id in (first, second):
        said = await h.client.post(f"/api/tickets/{ticket_id}/comments", json={"body": "still?"}, headers=agent.headers)
        assert said.status_code == 201, said.text

    async def failing() -> bool:
        items = await deliveries(h, admin, hook["id"])
        return any(d["status"] == "retrying" and d["last_error"] for d in items)

    await until(failing)
    listed = await h.client.get(f"/api/webhooks/{hook['id']}", headers=admin.headers)
    assert listed.json()["failing_since"] is not None
    await asyncio.sleep(1)
    receiver.up()

    expected = {t: await timeline(h, admin, t) for t in (first, second)}
    got = await arrived(receiver, sum(len(ids) for ids in expected.values()), within=60)
    for ticket_id, ids in expected.items():
        mine = [r.webhook_id for r in got if r.body["aggregate_id"] == str(ticket_id)]
        assert mine == ids, f"ticket {ticket_id}"
    healed = await h.client.get(f"/api/webhooks/{hook['id']}", headers=admin.headers)
    assert healed.json()["failing_since"] is None and healed.json()["mode"] == "active"


async def test_replay_redelivers_exactly_the_matching_events(h: Harness, receiver: Receiver) -> None:
    admin = await h.user("admin")
    hook = await subscribe(h, admin, receiver, "ticket.created")
    for n in range(3):
        await open_ticket(h, admin, f"Ticket {n}")
    made = [e for e in await h.events(type="ticket.created")]
    got = await arrived(receiver, 3)
    assert sorted(r.webhook_id for r in got) == sorted(e["event_id"] for e in made)  # three tickets: any order

    url = f"/api/webhooks/{hook['id']}/replay"
    since = await h.client.post(url, json={"since": made[1]["timestamp"]}, headers=admin.headers)
    assert since.status_code == 202, since.text
    assert since.json() == {"scheduled": 2}
    again = await arrived(receiver, 5)
    assert sorted(r.webhook_id for r in again[3:]) == sorted([made[1]["event_id"], made[2]["event_id"]])

    one = await h.client.post(url, json={"event_id": made[0]["event_id"]}, headers=admin.headers)
    assert one.json() == {"scheduled": 1}
    after = await h.client.post(url, json={"after": made[1]["seq"]}, headers=admin.headers)
    assert after.json() == {"scheduled": 1}
    rest = await arrived(receiver, 7)
    assert sorted(r.webhook_id for r in rest[5:]) == sorted([made[0]["event_id"], made[2]["event_id"]])

    async def all_done() -> bool:  # a delivery is unfinished until its request came back: none is left to go
        return all(d["status"] == "succeeded" for d in await deliveries(h, admin, hook["id"]))

    await until(all_done)
    assert len(receiver.received) == 7

    for bad in ({}, {"since": "yesterday"}, {"after": 1, "since": made[0]["timestamp"]}, {"event_id": 7}):
        refused = await h.client.post(url, json=bad, headers=admin.headers)
        assert refused.status_code == 422, (bad, refused.text)
    unknown = await h.client.post(url, json={"event_id": "no-such-event"}, headers=admin.headers)
    assert unknown.status_code == 404


async def test_a_rotated_secret_verifies_with_either_key_during_the_overlap(h: Harness, receiver: Receiver) -> None:
    admin = await h.user("admin")
    hook = await subscribe(h, admin, receiver, "ticket.created")
    old = hook["secret"]
    rotated = await h.client.post(f"/api/webhooks/{hook['id']}/rotate-secret", headers=admin.headers)
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["secret"]
    assert new.startswith("whsec_") and new != old and rotated.json()["previous_valid_until"]
    receiver.secrets.append(new)

    await open_ticket(h, admin, "Signed twice")
    (got,) = await arrived(receiver, 1)
    assert got.verified_by == {old, new}
    assert len(got.headers["webhook-signature"].split(" ")) == 2

    ended = await h.client.post(
        f"/api/webhooks/{hook['id']}/rotate-secret", json={"overlap_hours": 0}, headers=admin.headers
    )
    newest = ended.json()["secret"]
    receiver.secrets.append(newest)
    await open_ticket(h, admin, "Signed once")
    # Delivery is at least once: on a loaded machine the first event may arrive again; pick the later ticket's.
    later = await asyncio.to_thread(receiver.first, lambda got: b"Signed once" in got.raw)
    assert later.verified_by == {newest}
    listed = await h.client.get("/api/webhooks", headers=admin.headers)
    assert all("secret" not in w for w in listed.json())


async def test_a_private_target_is_refused_without_the_flag(harness: Harness, receiver: Receiver) -> None:
    h = harness  # NIXFLOW_WEBHOOK_ALLOW_PRIVATE unset
    admin = await h.user("admin")
    for url in (
        receiver.url,
        "http://localhost:8080/hook",
        "http://10.1.2.3/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]:8080/hook",
        "http://[::ffff:192.168.0.1]/hook",
    ):
        refused = await h.client.post(
            "/api/webhooks", json={"url": url, "event_types": ["ticket.*"]}, headers=admin.headers
        )
        assert refused.status_code == 422, (url, refused.text)
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert "NIXFLOW_WEBHOOK_ALLOW_PRIVATE" in refused.json()["detail"]
    listed = await h.client.get("/api/webhooks", headers=admin.headers)
    assert listed.json() == []


async def test_the_target_is_checked_again_at_delivery(harness: Harness, receiver: Receiver) -> None:
    """A subscription made while private targets were allowed (or whose name now resolves privately) sends nothing."""
    h = harness
    admin = await h.user("admin")
    made = await stored_subscription(h, receiver.url, ["ticket.created"], mode="active")
    await open_ticket(h, admin, "Nobody hears this")

    async def refused() -> dict[str, Any] | None:
        items = await deliveries(h, admin, made["id"])
        return items[0] if items and items[0]["last_error"] else None

    done = await until(refused)
    assert "target refused" in done["last_error"] and "loopback" in done["last_error"]
    assert done["status"] == "retrying" and done["last_status_code"] is None
    assert receiver.received == []


async def disabled(h: Harness, admin: User, webhook_id: int) -> dict[str, Any] | None:
    """The subscription, once it has been disabled."""
    found = await h.client.get(f"/api/webhooks/{webhook_id}", headers=admin.headers)
    return found.json() if found.json()["disabled_reason"] else None


async def test_410_gone_disables_the_subscription_and_admins_are_told(h: Harness, receiver: Receiver) -> None:
    admin = await h.user("admin")
    hook = await subscribe(h, admin, receiver, "ticket.created")
    receiver.script = [410]
    await open_ticket(h, admin, "Anyone there?")
    await arrived(receiver, 1)
    paused = await until(lambda: disabled(h, admin, hook["id"]))
    assert paused["mode"] == "paused" and "410" in paused["disabled_reason"]
    await h.settle()
    (event,) = await h.events(type="webhook.disabled")
    assert event["data"]["webhook_id"] == hook["id"] and "410" in event["data"]["reason"]
    told = await h.client.get("/api/notifications", headers=admin.headers)
    assert any(n["kind"] == "system" and f"Webhook {hook['id']}" in n["title"] for n in told.json()["items"])

    with webhook_receiver() as witness:
        await subscribe(h, admin, witness, "ticket.created")
        later = await open_ticket(h, admin, "While paused")
        (seen,) = await arrived(witness, 1)
        assert seen.body["data"]["ticket_id"] == later
    # A round fans out every subscription before it sends for any: the round that sent to the witness would have
    # written the paused subscription's delivery of the same event.
    assert len(await deliveries(h, admin, hook["id"])) == 1 and len(receiver.received) == 1  # paused: nothing sent
    resumed = await h.client.patch(f"/api/webhooks/{hook['id']}", json={"mode": "active"}, headers=admin.headers)
    assert resumed.json()["disabled_reason"] is None
    got = await arrived(receiver, 2)
    assert got[1].body["data"]["ticket_id"] == later  # what happened while paused follows on resume


async def test_shadow_mode_builds_and_records_but_sends_nothing(h: Harness, receiver: Receiver) -> None:
    admin = await h.user("admin")
    hook = await subscribe(h, admin, receiver, "ticket.created", mode="shadow")
    await open_ticket(h, admin, "Only pretend")

    done = await until(lambda: _succeeded(h, admin, hook["id"]))
    assert done["shadow"] is True and done["attempts"] == 0
    assert receiver.received == []


async def test_subscriptions_are_admin_only_and_validated(h: Harness, receiver: Receiver) -> None:
    admin = await h.user("admin")
    agent = await h.user("agent")
    body = {"url": receiver.url, "event_types": ["ticket.*"]}
    assert (await h.client.post("/api/webhooks", json=body, headers=agent.headers)).status_code == 403
    for bad in (
        {**body, "event_types": ["ticket.nonsense"]},
        {**body, "event_types": []},
        {**body, "url": "ftp://example.com/x"},
        {**body, "mode": "loud"},
    ):
        refused = await h.client.post("/api/webhooks", json=bad, headers=admin.headers)
        assert refused.status_code == 422, (bad, refused.text)
    missing = await h.client.post("/api/webhooks", json={**body, "category_id": 999}, headers=admin.headers)
    assert missing.status_code == 404
    hook = await subscribe(h, admin, receiver, "ticket.*", "sla.breached", description="chat")
    assert hook["mode"] == "active" and hook["event_types"] == ["ticket.*", "sla.breached"]
    changed = await h.client.patch(
        f"/api/webhooks/{hook['id']}", json={"event_types": ["*"], "description": "all"}, headers=admin.headers
    )
    assert changed.json()["event_types"] == ["*"] and changed.json()["description"] == "all"
    gone = await h.client.delete(f"/api/webhooks/{hook['id']}", headers=admin.headers)
    assert gone.status_code == 204
    assert (await h.client.get(f"/api/webhooks/{hook['id']}", headers=admin.headers)).status_code == 404


async def test_a_slow_receiver_does_not_delay_another_subscription(h: Harness, receiver: Receiver) -> None:
    admin = await h.user("admin")
    with webhook_receiver() as slow:
        await subscribe(h, admin, slow, "ticket.*")
        await subscribe(h, admin, receiver, "ticket.*")
        slow.hold_next = True  # its first request hangs until released
        first = await open_ticket(h, admin, "First")
        second = await open_ticket(h, admin, "Second")
        assert await asyncio.to_thread(slow.held.wait, 30)
        expected = await timeline(h, admin, first) + await timeline(h, admin, second)
        got = await arrived(receiver, len(expected))  # all of it, while the slow one still holds a request
        assert sorted(r.webhook_id for r in got) == sorted(expected)
        assert len(slow.received) < len(expected)  # the held request holds back the rest of its ticket there
        slow.release.set()
        await arrived(slow, len(expected))


@pytest.fixture
async def timed(hook_settings: Settings, clock: ManualClock) -> AsyncIterator[Harness]:
    at_once = hook_settings.model_copy(update={"webhook_retry_scale": 1.0})
    async for running in start(at_once, nixflow=build(at_once, clock=clock)):
        yield running


async def test_a_subscription_failing_for_24_hours_is_disabled_and_admins_are_told(
    timed: Harness, clock: ManualClock, receiver: Receiver
) -> None:
    h = timed
    admin = await h.user("admin")
    hook = await subscribe(h, admin, receiver, "ticket.created")
    receiver.script = [500] * 5
    await open_ticket(h, admin, "Never taken")
    await arrived(receiver, 1)

    async def retrying() -> dict[str, Any] | None:
        items = await deliveries(h, admin, hook["id"])
        return items[0] if items and items[0]["status"] == "retrying" else None

    first = await until(retrying)
    assert first["attempts"] == 1
    clock.advance(hours=23)  # the retries go on: 5 s, 30 s, 5 min, ... later, still under 24 h
    await arrived(receiver, 2)

    async def second_recorded() -> dict[str, Any] | None:
        # The receiver has answered the second attempt; wait until the worker has recorded it and
        # scheduled the next, or the clock would move on before that retry's time is set from it.
        item = await retrying()
        return item if item and item["attempts"] == 2 else None

    await until(second_recorded)
    stored = await h.client.get(f"/api/webhooks/{hook['id']}", headers=admin.headers)
    assert stored.json()["mode"] == "active" and stored.json()["failing_since"] is not None
    clock.advance(hours=2)
    await arrived(receiver, 3)
    paused = await until(lambda: disabled(h, admin, hook["id"]))
    assert paused["mode"] == "paused" and "24 hours" in paused["disabled_reason"]
    told = await h.client.get("/api/notifications", headers=admin.headers)
    assert any(n["kind"] == "system" and "disabled" in n["title"] for n in told.json()["items"])
