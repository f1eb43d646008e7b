"""Housekeeping at simulated times: expired idempotency keys, sign-in attempts and ended sessions go; events
go only under a configured retention, and never while unfinished."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import func, select
from tests.conftest import PASSWORD, Harness, ManualClock, start
from tests.webhook_receiver import stored_subscription

from nixflow.bootstrap import build
from nixflow.config import Settings
from nixflow.domain.values import EventStatus
from nixflow.store.tables import api_tokens, events, idempotency_keys, login_attempts, tickets, webhook_deliveries
from nixflow.webhooks import subscriptions


def count(harness: Harness, table: Any, *where: Any) -> int:
    return int(
        harness.nixflow.db.read_sync(
            lambda conn: conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one()
        )
    )


async def at(harness: Harness, clock: ManualClock, **delta: float) -> None:
    clock.advance(**delta)
    await harness.nixflow.scheduler.run_due(now=clock.now)


async def test_what_has_served_its_time_is_removed_and_nothing_else(timed_harness: Harness, clock: ManualClock) -> None:
    harness = timed_harness
    agent = await harness.user("agent")
    created = await harness.client.post(
        "/api/tickets", json={"title": "printer"}, headers={**agent.headers, "Idempotency-Key": "k-1"}
    )
    assert created.status_code == 201
    await harness.client.post("/api/auth/login", json={"email": agent.email, "password": "wrong password"})
    session = await harness.client.post("/api/auth/login", json={"email": agent.email, "password": PASSWORD})
    headers = {"Authorization": f"Bearer {session.json()['token']}"}
    assert (await harness.client.post("/api/auth/logout", headers=headers)).status_code == 204
    await harness.settle()
    before = count(harness, events)

    await at(harness, clock, minutes=1)
    assert count(harness, login_attempts) == 0  # the successful sign-in cleared them already
    assert count(harness, idempotency_keys) == 1

    await at(harness, clock, hours=24)  # 24 h and a minute after the key was used
    assert count(harness, idempotency_keys) == 0
    again = await harness.client.post(
        "/api/tickets", json={"title": "printer"}, headers={**agent.headers, "Idempotency-Key": "k-1"}
    )
    assert again.status_code == 201 and again.json()["id"] != created.json()["id"]  # a new day, a new ticket

    sessions = api_tokens.c.kind == "session"
    await at(harness, clock, days=5)  # six days after the logout
    assert count(harness, api_tokens, sessions) == 1  # ended less than a week ago: still listed
    await at(harness, clock, days=2)
    assert count(harness, api_tokens, sessions) == 0
    assert count(harness, api_tokens, api_tokens.c.kind == "api") == 1  # the agent's API token stays
    assert count(harness, events) >= before  # no retention configured: the log is kept whole


async def test_sign_in_attempts_are_forgotten_after_their_window(timed_harness: Harness, clock: ManualClock) -> None:
    harness = timed_harness
    for _ in range(3):
        await harness.client.post("/api/auth/login", json={"email": "ghost@example.com", "password": "guess me"})
    await at(harness, clock, minutes=5)
    assert count(harness, login_attempts) == 3
    await at(harness, clock, hours=1)  # past the 15-minute window, and the next hourly sweep
    assert count(harness, login_attempts) == 0


@pytest.fixture
async def retained_harness(settings: Settings, clock: ManualClock) -> AsyncIterator[Harness]:
    """NixFlow keeping finished events for 30 days."""
    kept = settings.model_copy(update={"event_retention_days": 30})
    async for h in start(kept, nixflow=build(kept, clock=clock)):
        yield h


async def test_with_a_retention_finished_events_older_than_it_go_and_unfinished_ones_stay(
    retained_harness: Harness, clock: ManualClock
) -> None:
    harness = retained_harness
    requester = await harness.user("requester")
    await harness.client.post("/api/tickets", json={"title": "old ticket"}, headers=requester.headers)
    await harness.settle()
    old = {e["event_id"] for e in await harness.events()}
    stuck = (await harness.events(type="ticket.created"))[0]["event_id"]

    def never_finished(tx: Any) -> None:
        tx.conn.execute(events.update().where(events.c.event_id == stuck).values(status=EventStatus.RETRYING.value))
        # No SLA alarms for the old ticket: they would have handlers (notifications) and wait behind the stuck
        # event, so nothing would ever settle.
        tx.conn.execute(tickets.update().values(next_check_at=None))

    await harness.write(never_finished)

    await at(harness, clock, days=29)
    assert old <= {e["event_id"] for e in await harness.events()}  # younger than 30 days: all kept
    clock.advance(days=2)
    created = await harness.client.post("/api/tickets", json={"title": "new ticket"}, headers=requester.headers)
    assert created.status_code == 201  # its events are delivered within its own transaction
    await harness.nixflow.scheduler.run_due(now=clock.now)
    remaining = await harness.events()
    assert old & {e["event_id"] for e in remaining} == {stuck}  # finished and old: gone; unfinished: kept
    assert any(e["type"] == "ticket.created" and e["event_id"] != stuck for e in remaining)


async def test_with_a_retention_finished_webhook_deliveries_older_than_it_go_and_waiting_ones_stay(
    retained_harness: Harness, clock: ManualClock
) -> None:
    harness = retained_harness
    hook = await stored_subscription(harness)
    for _ in range(2):
        await harness.user("requester")
    done, waiting = [e["event_id"] for e in await harness.events(type="user.created")][-2:]
    for event_id in (done, waiting):
        await harness.write(lambda tx, e=event_id: subscriptions.replay(tx, webhook_id=hook["id"], event_id=e))
    await harness.write(
        lambda tx: tx.conn.execute(
            webhook_deliveries.update().where(webhook_deliveries.c.event_id == done).values(status="succeeded")
        )
    )

    await at(harness, clock, days=29)
    assert count(harness, webhook_deliveries) == 2
    await at(harness, clock, days=2)
    assert [
        r.event_id for r in harness.nixflow.db.read_sync(lambda c: c.execute(webhook_deliveries.select()).all())
    ] == [waiting]
