"""The SLA tick's batch path writes the same log as the ticket-by-ticket path it falls back to.

Two identical sets of tickets in one database: the job's batch checks one set, a job that checks each ticket on
its own (`TimedAutomation(batched=False)`) the other, at the same instants. Their events (types, aggregates,
data, metadata, outcome, the correlation and causation between them), the handlers' receipts and the tickets'
SLA bookkeeping and outcomes in the reports must be the same, up to ids. The batch's breaches stand side by side,
so the report projection takes them at once (`Handler.many`): this compares that with its one-by-one path too.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, select
from tests.conftest import Harness, ManualClock, User, start

from nixflow.automation import timers
from nixflow.automation.timers import TimedAutomation
from nixflow.bootstrap import build
from nixflow.config import Settings
from nixflow.domain.envelope import EventRecord
from nixflow.events.bus import Handler
from nixflow.store.db import Tx
from nixflow.store.tables import events, handler_receipts, report_sla, tickets

TITLES = ("Expense form question", "Mail server is down", "Monitor flickers")  # normal, critical (a rule), normal


@pytest.fixture
async def quiet_harness(settings: Settings, clock: ManualClock) -> AsyncIterator[Harness]:
    """`timed_harness` whose scheduler does not tick by itself: only the test runs the job."""
    quiet = settings.model_copy(update={"tick_seconds": 3600.0})
    async for h in start(quiet, nixflow=build(quiet, clock=clock)):
        yield h


async def _open_set(harness: Harness, requester: User, agent: User, admin: User) -> list[int]:
    """Three tickets: two unassigned (one made critical by a rule), the third assigned to `agent`."""
    ids = []
    for title in TITLES:
        response = await harness.client.post(
            "/api/tickets", json={"title": title, "description": "details"}, headers=requester.headers
        )
        assert response.status_code == 201, response.text
        ids.append(int(response.json()["id"]))
    shown = (await harness.client.get(f"/api/tickets/{ids[2]}", headers=admin.headers)).json()
    patched = await harness.client.patch(
        f"/api/tickets/{ids[2]}", json={"version": shown["version"], "assignee_id": agent.id}, headers=admin.headers
    )
    assert patched.status_code == 200, patched.text
    return ids


def _log_after(conn: Connection, mark: int) -> tuple[list[dict[str, Any]], set[tuple[str, str]]]:
    rows = [dict(r._mapping) for r in conn.execute(select(events).where(events.c.seq > mark).order_by(events.c.seq))]
    ids = [r["event_id"] for r in rows]
    receipts = conn.execute(
        select(handler_receipts.c.handler, handler_receipts.c.event_id).where(handler_receipts.c.event_id.in_(ids))
    )
    return rows, {(str(h), str(e)) for h, e in receipts}


def _shape(
    rows: list[dict[str, Any]], receipts: set[tuple[str, str]], names: dict[str, str]
) -> tuple[list[dict[str, Any]], set[tuple[str, int]]]:
    """The log with ids replaced by what they stand for: a ticket by its place in its set (`names`), an event
    by its place in the log, a correlation by the place of its first event. Each ticket's events keep their
    order; how two tickets' events interleave is the batch's business."""
    ordered = sorted(rows, key=lambda r: (names[r["aggregate_id"]], r["seq"]))
    place = {r["event_id"]: i for i, r in enumerate(ordered)}
    cycles: dict[str, int] = {}
    shaped = []
    for row in ordered:
        meta = dict(row["metadata"])
        meta["correlation_id"] = cycles.setdefault(meta["correlation_id"], len(cycles))
        cause = meta["causation_id"]
        meta["causation_id"] = ("event", place[cause]) if cause in place else cause
        data = dict(row["data"])
        data["ticket_id"] = names[str(data["ticket_id"])]
        shaped.append(
            {"aggregate": names[row["aggregate_id"]], "data": data, "metadata": meta}
            | {k: row[k] for k in ("event_type", "category", "priority", "status", "retry_count", "error")}
            | {k: row[k] for k in ("timestamp", "aggregate_type", "actor_id", "duplicate_of")}
        )
    return shaped, {(handler, place[event_id]) for handler, event_id in receipts}


def _shape_of_set(
    rows: list[dict[str, Any]], receipts: set[tuple[str, str]], ids: list[int]
) -> tuple[list[dict[str, Any]], set[tuple[str, int]]]:
    """`_shape` of the events about one set of tickets and their receipts."""
    names = {str(t): f"ticket {i}" for i, t in enumerate(ids)}
    mine = [r for r in rows if r["aggregate_type"] == "ticket" and r["aggregate_id"] in names]
    event_ids = {r["event_id"] for r in mine}
    return _shape(mine, {(h, e) for h, e in receipts if e in event_ids}, names)


def _bookkeeping(conn: Connection, ids: list[int]) -> list[dict[str, Any]]:
    """The tickets' SLA bookkeeping, what rules changed, and what the report projection holds of their SLA
    outcomes."""
    columns = ("sla_state", "next_check_at", "escalation_level", "version", "priority", "status", "assignee_id")
    columns += ("tags", "first_response_due", "resolution_due", "updated_at")
    query = select(*(tickets.c[c] for c in columns)).where(tickets.c.id.in_(ids)).order_by(tickets.c.id)
    g = report_sla.c
    outcomes = select(g.target, g.outcome, g.due_at, g.at).where(g.ticket_id.in_(ids))
    return [
        *(dict(r._mapping) for r in conn.execute(query)),
        *(dict(r._mapping) for r in conn.execute(outcomes.order_by(g.ticket_id, g.target))),
    ]


async def _both_ways(harness: Harness, clock: ManualClock) -> tuple[Any, Any, list[str]]:
    """Two identical sets of tickets, one checked by the job's batch and one ticket by ticket, 250 and 1,500
    minutes after they were opened (first responses warned and breached, escalations, then the resolutions);
    the log, receipts and ticket rows of each set (`_shape_of_set`, `_bookkeeping`), and the batch's event types."""
    nixflow = harness.nixflow
    admin, agent = await harness.user("admin"), await harness.user("agent")
    requester = await harness.user("requester")
    begin = clock.now
    batched_ids = await _open_set(harness, requester, agent, admin)
    single_ids = await _open_set(harness, requester, agent, admin)
    await harness.settle()
    job = next(j.fn for j in nixflow.scheduler.jobs if j.name == "sla-and-escalation")
    assert isinstance(job, TimedAutomation) and job.batched
    one_by_one = TimedAutomation(db=nixflow.db, writer=nixflow.writer, counters=job.counters, batched=False)
    mark = await nixflow.db.read(lambda conn: _log_after(conn, 0)[0][-1]["seq"])

    for minutes in (250, 1500):
        clock.now = begin + timedelta(minutes=minutes)
        assert await job.check(batched_ids, clock.now) == await one_by_one.check(single_ids, clock.now) > 0
        await harness.settle()

    rows, receipts = await nixflow.db.read(lambda conn: _log_after(conn, mark))
    batched = _shape_of_set(rows, receipts, batched_ids)
    single = _shape_of_set(rows, receipts, single_ids)
    assert batched[1], "the handlers left receipts"
    rows_batched = await nixflow.db.read(lambda conn: _bookkeeping(conn, batched_ids))
    rows_single = await nixflow.db.read(lambda conn: _bookkeeping(conn, single_ids))
    return (batched, rows_batched), (single, rows_single), [e["event_type"] for e in batched[0]]


async def test_the_batch_writes_what_ticket_by_ticket_writes(quiet_harness: Harness, clock: ManualClock) -> None:
    batched, single, types = await _both_ways(quiet_harness, clock)
    assert {"sla.warning", "sla.breached", "ticket.escalated", "notification.requested"} <= set(types)
    assert batched == single


async def test_escalation_rules_of_every_kind_write_what_they_write_ticket_by_ticket(
    quiet_harness: Harness, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    """Escalation rules beside the default ones: a priority raise that skips the critical ticket (and, on the
    first ticket, runs after a default rule), one after it that finds most of its work done, a reassignment
    with a notice to a person, a rule in shadow mode; and two the batch cannot hold, whose tickets' rules run one
    by one in the same batch: one that tags, one that assigns to someone who left (it fails: `rule_failed`).
    Neither makes the whole batch fall back to ticket by ticket (which would log a warning)."""
    harness = quiet_harness
    admin, agent, gone = await harness.user("admin"), await harness.user("agent"), await harness.user("agent")
    rules = [
        {
            "name": "normal for 200 min is high",
            "conditions": {"all": [{"field": "priority", "op": "equals", "value": "normal"}, _OPEN_200]},
            "actions": [_escalate(3), {"type": "set_priority", "value": "high"}, {"type": "notify", "role": "admin"}],
        },
        {  # after the rule above: its priority and level are set already, only its notice is left to do
            "name": "normal for 200 min is high, to the agents",
            "conditions": {"all": [{"field": "priority", "op": "equals", "value": "normal"}, _OPEN_200]},
            "actions": [_escalate(2), {"type": "set_priority", "value": "high"}, {"type": "notify", "role": "agent"}],
        },
        {
            "name": "open 1,000 min goes to the agent",
            "conditions": {"all": [_open_for(1000)]},
            "actions": [{"type": "assign", "user_id": agent.id}, _escalate(4), {"type": "notify", "user_id": admin.id}],
        },
        {
            "name": "critical for 1,000 min is stale",
            "conditions": {"all": [{"field": "priority", "op": "equals", "value": "critical"}, _open_for(1000)]},
            "actions": [{"type": "add_tag", "value": "stale"}, _escalate(5)],
        },
        {
            "name": "assigned for 1,000 min goes to someone who left",
            "conditions": {"all": [{"field": "assignee_id", "op": "is_null", "value": False}, _open_for(1000)]},
            "actions": [{"type": "assign", "user_id": gone.id}, _escalate(7)],
        },
        {"name": "try: open 200 min", "mode": "shadow", "conditions": {"all": [_OPEN_200]}, "actions": [_escalate(6)]},
    ]
    for position, rule in enumerate(rules, start=300):
        created = await harness.client.post(
            "/api/rules", json={"kind": "escalation", "position": position, **rule}, headers=admin.headers
        )
        assert created.status_code == 201, created.text
    left = await harness.client.patch(f"/api/users/{gone.id}", json={"active": False}, headers=admin.headers)
    assert left.status_code == 200, left.text

    with caplog.at_level(logging.WARNING, logger=timers.__name__):
        batched, single, types = await _both_ways(harness, clock)
    assert not [r for r in caplog.records if r.name == timers.__name__], "the batch fell back to ticket by ticket"
    kinds = {"ticket.priority_changed", "ticket.assigned", "ticket.tagged", "automation.rule_shadowed"}
    assert kinds | {"automation.rule_failed"} <= set(types)
    assert types.count("automation.rule_applied") > types.count("ticket.assigned") > 0
    assert batched == single


def _open_for(minutes: int) -> dict[str, Any]:
    return {"field": "minutes_open", "op": "gte", "value": minutes}


def _escalate(level: int) -> dict[str, Any]:
    return {"type": "escalate", "level": level}


_OPEN_200 = _open_for(200)


async def test_a_run_whose_batch_handler_fails_is_handled_event_by_event(
    quiet_harness: Harness, clock: ManualClock
) -> None:
    """A handler that takes a run of breaches at once and fails on it: its savepoint is rolled back and it runs
    on each breach alone, so only the breach it fails on is retried; the other handlers' work stands."""
    harness = quiet_harness
    requester = await harness.user("requester")
    ids = []
    for title in ("Printer jam", "Password expired", "New laptop"):
        response = await harness.client.post(
            "/api/tickets", json={"title": title, "description": "details"}, headers=requester.headers
        )
        ids.append(int(response.json()["id"]))
    await harness.settle()
    runs: list[int] = []

    def whole_run(tx: Tx, records: Sequence[EventRecord]) -> None:
        runs.append(len(records))
        raise RuntimeError("the run at once fails")

    def one(tx: Tx, record: EventRecord) -> None:
        if record.aggregate_id == str(ids[1]):
            raise RuntimeError("this breach fails")

    breaches = frozenset({"sla.breached"})
    harness.nixflow.registry.subscribe("sla.breached", Handler("test.breaches", one, whole_run, breaches))
    job = next(j.fn for j in harness.nixflow.scheduler.jobs if j.name == "sla-and-escalation")
    assert isinstance(job, TimedAutomation)
    assert await job.check(ids, clock.advance(minutes=250)) > 0
    assert runs == [3]

    def outcome(conn: Connection) -> dict[str, tuple[str, set[str]]]:
        found = conn.execute(select(events.c.event_id, events.c.aggregate_id, events.c.status).where(
            events.c.event_type == "sla.breached"
        )).all()  # fmt: skip
        receipts = conn.execute(select(handler_receipts.c.handler, handler_receipts.c.event_id)).all()
        return {aggregate: (status, {h for h, e in receipts if e == event_id}) for event_id, aggregate, status in found}

    done = await harness.nixflow.db.read(outcome)
    assert done[str(ids[1])] == ("retrying", {"notifications.make", "reports.project"})
    for ticket_id in (ids[0], ids[2]):
        assert done[str(ticket_id)] == ("completed", {"notifications.make", "reports.project", "test.breaches"})
