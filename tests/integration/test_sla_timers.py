"""SLA at simulated times: warnings, breaches, pause/resume, met, recomputation; each event fires once."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import pytest
from tests.conftest import Harness, ManualClock, User


async def _open(harness: Harness, user: User, title: str, **extra: Any) -> dict[str, Any]:
    response = await harness.client.post(
        "/api/tickets", json={"title": title, "description": "details", **extra}, headers=user.headers
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def _at(harness: Harness, clock: ManualClock, minutes: float, start: datetime) -> None:
    clock.now = start + timedelta(minutes=minutes)
    await harness.nixflow.scheduler.run_due(now=clock.now)
    await harness.settle()


async def _sla_events(harness: Harness, ticket_id: int) -> list[tuple[str, str]]:
    events = await harness.events(aggregate_id=str(ticket_id))
    return [(e["type"], e["data"]["target"]) for e in events if e["type"] in ("sla.warning", "sla.breached", "sla.met")]


def _when(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def test_warning_then_breach_each_once(timed_harness: Harness, clock: ManualClock) -> None:
    harness = timed_harness
    admin, requester = await harness.user("admin"), await harness.user("requester")
    start = clock.now
    ticket = await _open(harness, requester, "Expense form question")  # normal: 240 / 1440 min, warning at 80%
    assert _when(ticket["sla"]["first_response_due"]) == start + timedelta(minutes=240)
    assert _when(ticket["sla"]["resolution_due"]) == start + timedelta(minutes=1440)
    await harness.settle()

    await _at(harness, clock, 191, start)
    assert await _sla_events(harness, ticket["id"]) == []
    await _at(harness, clock, 193, start)
    await _at(harness, clock, 194, start)
    assert await _sla_events(harness, ticket["id"]) == [("sla.warning", "first_response")]
    [warning] = await harness.events(type="sla.warning")
    assert warning["data"]["percent"] == 80 and warning["aggregate_type"] == "ticket"

    await _at(harness, clock, 241, start)
    await _at(harness, clock, 300, start)
    assert await _sla_events(harness, ticket["id"]) == [
        ("sla.warning", "first_response"),
        ("sla.breached", "first_response"),
    ]
    shown = (await harness.client.get(f"/api/tickets/{ticket['id']}", headers=admin.headers)).json()
    assert shown["sla"]["breached"] == ["first_response"]

    await _at(harness, clock, 1441, start)  # a late tick fires the missed warning and the breach, once each
    await _at(harness, clock, 2000, start)
    assert await _sla_events(harness, ticket["id"]) == [
        ("sla.warning", "first_response"),
        ("sla.breached", "first_response"),
        ("sla.warning", "resolution"),
        ("sla.breached", "resolution"),
    ]


async def test_concurrent_runs_fire_once(timed_harness: Harness, clock: ManualClock) -> None:
    harness = timed_harness
    requester = await harness.user("requester")
    start = clock.now
    tickets = [await _open(harness, requester, f"Question {i}") for i in range(5)]
    clock.now = start + timedelta(minutes=250)
    await asyncio.gather(*(harness.nixflow.scheduler.run_due(now=clock.now) for _ in range(4)))
    await harness.settle()
    for ticket in tickets:
        assert await _sla_events(harness, ticket["id"]) == [
            ("sla.warning", "first_response"),
            ("sla.breached", "first_response"),
        ]


async def test_clock_pauses_while_pending(timed_harness: Harness, clock: ManualClock) -> None:
    harness = timed_harness
    admin, agent, requester = await harness.user("admin"), await harness.user("agent"), await harness.user("requester")
    start = clock.now
    ticket = await _open(harness, requester, "Mail server is down")  # becomes critical: 15 / 240 min
    await harness.settle()
    tid = ticket["id"]
    clock.now = start + timedelta(minutes=5)
    for status in ("open", "pending"):
        moved = await harness.client.post(
            f"/api/tickets/{tid}/transition", json={"status": status}, headers=agent.headers
        )
        assert moved.status_code == 200, moved.text
    shown = (await harness.client.get(f"/api/tickets/{tid}", headers=admin.headers)).json()
    assert shown["priority"] == "critical" and shown["sla"]["paused"] is True

    await _at(harness, clock, 30, start)  # would be past due, but the clock is paused
    assert await _sla_events(harness, tid) == []

    moved = await harness.client.post(f"/api/tickets/{tid}/transition", json={"status": "open"}, headers=agent.headers)
    assert moved.status_code == 200
    shown = moved.json()
    assert shown["sla"]["paused"] is False
    assert _when(shown["sla"]["first_response_due"]) == start + timedelta(minutes=15 + 25)

    await _at(harness, clock, 36, start)
    assert await _sla_events(harness, tid) == []
    await _at(harness, clock, 38, start)  # warning at 80% of 15 = 12 min, plus the 25 paused
    assert await _sla_events(harness, tid) == [("sla.warning", "first_response")]
    await _at(harness, clock, 41, start)
    assert await _sla_events(harness, tid) == [("sla.warning", "first_response"), ("sla.breached", "first_response")]


async def test_met_in_time_and_never_breached(timed_harness: Harness, clock: ManualClock) -> None:
    harness = timed_harness
    agent, requester = await harness.user("agent"), await harness.user("requester")
    start = clock.now
    ticket = await _open(harness, requester, "Need a monitor")
    tid = ticket["id"]
    clock.now = start + timedelta(minutes=30)
    comment = await harness.client.post(f"/api/tickets/{tid}/comments", json={"body": "On it"}, headers=agent.headers)
    assert comment.status_code == 201, comment.text  # the reply opened the ticket
    clock.now = start + timedelta(minutes=60)
    moved = await harness.client.post(
        f"/api/tickets/{tid}/transition", json={"status": "resolved"}, headers=agent.headers
    )
    assert moved.status_code == 200, moved.text
    await _at(harness, clock, 5000, start)
    assert await _sla_events(harness, tid) == [("sla.met", "first_response"), ("sla.met", "resolution")]


async def test_due_times_follow_the_current_priority(timed_harness: Harness, clock: ManualClock) -> None:
    harness = timed_harness
    admin, requester = await harness.user("admin"), await harness.user("requester")
    start = clock.now
    ticket = await _open(harness, requester, "Laptop slow")
    clock.now = start + timedelta(minutes=10)
    patched = await harness.client.patch(
        f"/api/tickets/{ticket['id']}", json={"version": ticket["version"], "priority": "high"}, headers=admin.headers
    )
    assert patched.status_code == 200, patched.text
    assert _when(patched.json()["sla"]["first_response_due"]) == start + timedelta(minutes=60)
    await _at(harness, clock, 61, start)
    assert ("sla.breached", "first_response") in await _sla_events(harness, ticket["id"])

    put = await harness.client.put(
        "/api/sla/policies/high",
        json={"first_response_minutes": 90, "resolution_minutes": 900, "warning_percent": 80},
        headers=admin.headers,
    )
    assert put.status_code == 200
    shown = (await harness.client.get(f"/api/tickets/{ticket['id']}", headers=admin.headers)).json()
    assert _when(shown["sla"]["resolution_due"]) == start + timedelta(minutes=900)


async def test_a_ticket_that_fails_holds_up_no_other(timed_harness: Harness, clock: ManualClock) -> None:
    """The tick checks a batch under one savepoint; when a ticket fails, the batch is rolled back and checked
    again one ticket at a time: the others fire (once), the failing one fires nothing."""
    from sqlalchemy import update

    from nixflow.domain.envelope import EventContext
    from nixflow.store.db import Tx
    from nixflow.store.tables import tickets as tickets_table

    harness = timed_harness
    requester = await harness.user("requester")
    start = clock.now
    tickets = [await _open(harness, requester, f"Question {i}") for i in range(4)]
    await harness.settle()
    broken = tickets[1]["id"]

    def corrupt(tx: Tx) -> None:  # an SLA state the job cannot read: it raises on it
        tx.conn.execute(update(tickets_table).where(tickets_table.c.id == broken).values(sla_state={"warned": 7}))

    await harness.nixflow.writer.run(corrupt, EventContext(correlation_id="test", actor_id=None, source="test"))
    await _at(harness, clock, 250, start)
    await _at(harness, clock, 251, start)
    assert await _sla_events(harness, broken) == []
    for ticket in (t for t in tickets if t["id"] != broken):
        assert await _sla_events(harness, ticket["id"]) == [
            ("sla.warning", "first_response"),
            ("sla.breached", "first_response"),
        ]


async def test_a_claim_lost_to_another_writer_fires_once(timed_harness: Harness, clock: ManualClock, mode: str) -> None:
    """The batch claims its tickets in one statement; when another writer changed one of them in between (here
    a transaction on PostgreSQL that commits while the claim waits on its row), the batch is rolled back and
    each ticket claimed on its own: every alarm still fires once, none twice."""
    if mode == "embedded":
        pytest.skip("SQLite has one writer: no other transaction can change a row between read and claim")
    from sqlalchemy import create_engine, text

    harness = timed_harness
    requester = await harness.user("requester")
    start = clock.now
    tickets = [await _open(harness, requester, f"Question {i}") for i in range(3)]
    await harness.settle()
    other = create_engine(harness.nixflow.db.url)
    try:
        with other.connect() as conn:
            edit = conn.begin()
            conn.execute(
                text("UPDATE tickets SET version = version + 1, title = 'Question, edited' WHERE id = :id"),
                {"id": tickets[1]["id"]},
            )
            clock.now = start + timedelta(minutes=250)
            job = asyncio.create_task(harness.nixflow.scheduler.run_due(now=clock.now))
            waiting = text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
            with other.connect() as probe:
                for _ in range(600):  # until the job's claim waits on the edited row (or the job is done)
                    if job.done() or probe.execute(waiting).scalar_one() > 0:
                        break
                    await asyncio.sleep(0.05)
                assert not job.done(), "the job's claim did not wait for the other writer"
            edit.commit()
            await job
    finally:
        other.dispose()
    await harness.settle()
    await _at(harness, clock, 251, start)
    for ticket in tickets:
        assert await _sla_events(harness, ticket["id"]) == [
            ("sla.warning", "first_response"),
            ("sla.breached", "first_response"),
        ]
