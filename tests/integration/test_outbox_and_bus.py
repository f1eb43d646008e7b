"""The outbox and the in-process bus: nothing committed is lost, effects happen once, failures retry then fail."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from tests.conftest import Harness, User, start

from nixflow.bootstrap import build
from nixflow.config import Settings
from nixflow.domain.envelope import EventRecord
from nixflow.domain.errors import ValidationFailed
from nixflow.events.bus import Handler
from nixflow.services import tickets
from nixflow.store.db import Tx


def notify(tx: Tx, record: EventRecord) -> None:
    """A handler with a visible effect: it asks for a notification (an event in the same transaction)."""
    tx.emit(
        "notification.requested",
        aggregate_type="ticket",
        aggregate_id=record.aggregate_id,
        data={
            "ticket_id": int(record.aggregate_id),
            "recipient_role": "agent",
            "recipient_id": None,
            "reason": f"{record.type} {record.event_id}",
        },
    )


class Flaky:
    """Fails the first `failures` calls (with `error`), then succeeds."""

    def __init__(self, failures: int, error: type[Exception] = RuntimeError) -> None:
        self.failures = failures
        self.error = error
        self.calls = 0

    def __call__(self, tx: Tx, record: EventRecord) -> None:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error(f"flaky failure {self.calls}")


async def running(
    settings: Settings, handlers: list[tuple[str, Handler]], *, deliver_inline: bool = True, **kwargs: Any
) -> AsyncIterator[Harness]:
    """A NixFlow with these handlers; `deliver_inline=False` leaves every event to the async path."""
    nixflow = build(settings, handlers=handlers, deliver_inline=deliver_inline)
    async for h in start(settings, nixflow=nixflow, **kwargs):
        yield h


async def post_ticket(harness: Harness, user: User, title: str = "Disk full") -> dict[str, Any]:
    response = await harness.client.post("/api/tickets", json={"title": title}, headers=user.headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_a_failed_transaction_leaves_neither_change_nor_event(harness: Harness, requester: User) -> None:
    from nixflow.domain.values import Role
    from nixflow.services.users import Principal

    who = Principal(id=requester.id, role=Role.REQUESTER, email=requester.email, name="R")

    def create_then_fail(tx: Tx) -> None:
        tickets.create(tx, requester=who, title="half done", description="")
        raise ValidationFailed("something later in the same change was wrong")

    with pytest.raises(ValidationFailed):
        await harness.write(create_then_fail)
    ok = await harness.write(lambda tx: tickets.create(tx, requester=who, title="whole", description=""))
    await harness.settle()
    created = await harness.events(type="ticket.created")
    assert [e["data"]["title"] for e in created] == ["whole"]
    listed = (await harness.client.get("/api/tickets", headers=requester.headers)).json()["items"]
    assert [t["id"] for t in listed] == [ok["id"]]


async def test_an_event_committed_while_nothing_consumes_is_delivered_after_restart(settings: Settings) -> None:
    calls: list[str] = []
    watcher = Handler("test.watcher", lambda tx, record: calls.append(record.event_id))
    async for first in running(settings, [("ticket.created", watcher)], deliver_inline=False, run_worker=False):
        user = await first.user("requester")
        await post_ticket(first, user)
        [pending] = await first.events(type="ticket.created")
        assert pending["status"] == "pending"
    assert calls == []
    async for second in running(settings, [("ticket.created", watcher)]):
        await second.settle()
        [delivered] = await second.events(type="ticket.created")
        assert delivered["status"] == "completed"
        assert calls == [pending["event_id"]]


async def test_a_failing_handler_retries_then_fails_without_hurting_its_sibling(settings: Settings) -> None:
    settings = settings.model_copy(update={"max_attempts": 3})
    broken = Flaky(failures=1000)
    handlers = [("ticket.created", Handler("test.notify", notify)), ("ticket.created", Handler("test.broken", broken))]
    async for h in running(settings, handlers):
        user = await h.user("requester")
        await post_ticket(h, user)
        await h.settle()
        for _ in range(100):
            [event] = await h.events(type="ticket.created")
            if event["status"] == "failed":
                break
            await asyncio.sleep(0.02)
            await h.settle()
        assert event["status"] == "failed" and event["retry_count"] == 3
        assert "test.broken: RuntimeError: flaky failure 3" in event["error"]
        assert broken.calls == 3
        assert len(await h.events(type="notification.requested")) == 1  # the sibling did its part, once


async def test_an_outage_longer_than_every_attempt_uses_up_none_of_them(settings: Settings) -> None:
    """Redis away (or failing over) for longer than `max_attempts` tries: the event waits, it is not given up."""
    settings = settings.model_copy(update={"max_attempts": 3, "retry_base_seconds": 0.01})
    away = Flaky(failures=6, error=RedisConnectionError)
    handlers = [("ticket.created", Handler("test.notify", notify)), ("ticket.created", Handler("test.away", away))]
    async for h in running(settings, handlers):
        user = await h.user("requester")
        await post_ticket(h, user)
        for _ in range(200):
            await h.settle()
            [event] = await h.events(type="ticket.created")
            if event["status"] != "retrying":
                break
            assert event["retry_count"] == 0 and "ConnectionError: flaky failure" in event["error"]
            await asyncio.sleep(0.02)
        assert event["status"] == "completed" and away.calls == 7
        assert len(await h.events(type="notification.requested")) == 1


async def test_a_redelivered_event_is_skipped_by_handlers_that_already_did_their_part(settings: Settings) -> None:
    flaky = Flaky(failures=2)
    handlers = [("ticket.created", Handler("test.notify", notify)), ("ticket.created", Handler("test.flaky", flaky))]
    async for h in running(settings, handlers):
        user = await h.user("requester")
        await post_ticket(h, user)
        for _ in range(100):
            await h.settle()
            [event] = await h.events(type="ticket.created")
            if event["status"] == "completed":
                break
            assert event["status"] == "retrying"
            await asyncio.sleep(0.02)
        assert event["retry_count"] == 2 and event["error"] is None
        assert flaky.calls == 3
        assert len(await h.events(type="notification.requested")) == 1


async def test_replay_redelivers_and_effects_still_happen_once(settings: Settings) -> None:
    settings = settings.model_copy(update={"max_attempts": 1})
    flaky = Flaky(failures=1)
    handlers = [("ticket.created", Handler("test.notify", notify)), ("ticket.created", Handler("test.flaky", flaky))]
    async for h in running(settings, handlers):
        admin = await h.user("admin")
        user = await h.user("requester")
        await post_ticket(h, user)
        await h.settle()
        [event] = await h.events(type="ticket.created")
        assert event["status"] == "failed"
        response = await h.client.post(f"/api/events/{event['event_id']}/replay", headers=admin.headers)
        assert response.status_code == 202
        await h.settle()
        [event] = await h.events(type="ticket.created")
        assert event["status"] == "completed" and flaky.calls == 2
        await h.client.post(f"/api/events/{event['event_id']}/replay", headers=admin.headers)
        await h.settle()
        assert flaky.calls == 2  # its receipt is stored: replaying a handled event changes nothing
        assert len(await h.events(type="notification.requested")) == 1


async def test_a_repeat_of_the_same_emission_within_the_ttl_is_handled_once(settings: Settings) -> None:
    settings = settings.model_copy(update={"dedup_ttl_seconds": 0.3})
    seen: list[str] = []
    handlers = [("notification.requested", Handler("test.seen", lambda tx, r: seen.append(r.event_id)))]
    data = {"ticket_id": 1, "recipient_role": "admin", "recipient_id": None, "reason": "same"}

    def emit(tx: Tx) -> None:  # the same change of the same ticket version, emitted again
        tx.emit("notification.requested", aggregate_type="ticket", aggregate_id=1, data=data, aggregate_version=7)

    async for h in running(settings, handlers, deliver_inline=False):
        await h.write(emit)
        await h.write(emit)
        await h.settle()
        first, second = await h.events(type="notification.requested")
        assert seen == [first["event_id"]]
        assert second["status"] == "completed" and second["duplicate_of"] == first["event_id"]
        await asyncio.sleep(0.35)
        await h.write(emit)
        await h.settle()
        third = (await h.events(type="notification.requested"))[-1]
        assert seen == [first["event_id"], third["event_id"]] and third["duplicate_of"] is None


@pytest.mark.parametrize("deliver_inline", [True, False], ids=["inline", "async"])
async def test_two_identical_real_changes_within_the_ttl_are_both_handled(
    settings: Settings, deliver_inline: bool
) -> None:
    """The same person moving a ticket open -> pending twice within the TTL: two changes, not a repeat."""
    seen: list[str] = []
    handlers = [("ticket.status_changed", Handler("test.seen", lambda tx, r: seen.append(r.data["new_status"])))]
    async for h in running(settings, handlers, deliver_inline=deliver_inline):
        agent = await h.user("agent")
        ticket = await post_ticket(h, agent)
        for status in ("open", "pending", "open", "pending"):
            response = await h.client.post(
                f"/api/tickets/{ticket['id']}/transition", json={"status": status}, headers=agent.headers
            )
            assert response.status_code == 200, response.text
        await h.settle()
        changes = await h.events(type="ticket.status_changed")
        assert [e["data"]["new_status"] for e in changes] == ["open", "pending", "open", "pending"]
        assert all(e["duplicate_of"] is None for e in changes)
        assert seen == ["open", "pending", "open", "pending"]


async def test_higher_priority_events_are_handled_first_under_backlog(settings: Settings) -> None:
    order: list[str] = []
    handlers = [("notification.requested", Handler("test.order", lambda tx, r: order.append(r.priority.value)))]
    from nixflow.domain.values import Priority

    def backlog(tx: Tx) -> None:
        for i, priority in enumerate(["low", "normal", "low", "critical", "high", "normal", "critical"]):
            tx.emit(
                "notification.requested",
                aggregate_type="ticket",
                aggregate_id=i,
                priority=Priority(priority),
                data={"ticket_id": i, "recipient_role": None, "recipient_id": None, "reason": str(i)},
            )

    async for first in running(settings, handlers, deliver_inline=False, run_worker=False):
        await first.write(backlog)
    async for h in running(settings, handlers):
        await h.settle()
    assert order == ["critical", "critical", "high", "normal", "normal", "low", "low"]


async def test_handler_events_carry_causation_and_correlation(settings: Settings) -> None:
    async for h in running(settings, [("ticket.created", Handler("test.notify", notify))]):
        user = await h.user("requester")
        await post_ticket(h, user)
        await h.settle()
        [created] = await h.events(type="ticket.created")
        [caused] = await h.events(type="notification.requested")
        assert caused["metadata"]["causation_id"] == created["event_id"]
        assert caused["metadata"]["correlation_id"] == created["metadata"]["correlation_id"]
        assert caused["metadata"]["source"] == "test.notify"
        assert caused["metadata"]["depth"] == 1


async def test_an_event_outside_the_catalogue_cannot_be_emitted(harness: Harness) -> None:
    with pytest.raises(ValidationFailed):
        await harness.write(lambda tx: tx.emit("ticket.teleported", aggregate_type="ticket", aggregate_id=1, data={}))
    with pytest.raises(ValidationFailed):
        await harness.write(
            lambda tx: tx.emit("ticket.created", aggregate_type="ticket", aggregate_id=1, data={"x": 1})
        )
    assert await harness.events() == []


async def test_a_tickets_events_are_handled_in_the_order_they_were_written(settings: Settings) -> None:
    """A later event of a ticket waits while an earlier one is being retried, then follows it."""
    handled: list[str] = []
    failures = [1]

    def in_order(tx: Tx, record: EventRecord) -> None:
        if record.type == "ticket.status_changed" and failures[0]:
            failures[0] -= 1
            raise RuntimeError("not yet")
        handled.append(record.type)

    recorder = Handler("test.in_order", in_order)
    handlers = [("ticket.status_changed", recorder), ("ticket.commented", recorder)]
    async for h in running(settings, handlers):
        agent = await h.user("agent")
        ticket = await post_ticket(h, agent)
        moved = await h.client.post(
            f"/api/tickets/{ticket['id']}/transition", json={"status": "open"}, headers=agent.headers
        )
        assert moved.status_code == 200
        commented = await h.client.post(
            f"/api/tickets/{ticket['id']}/comments", json={"body": "right after"}, headers=agent.headers
        )
        assert commented.status_code == 201
        for _ in range(200):
            await h.settle()
            if len(handled) == 2:
                break
            await asyncio.sleep(0.02)
        assert handled == ["ticket.status_changed", "ticket.commented"]
