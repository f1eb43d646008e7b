"""Escalation at simulated times: thresholds per priority, each level once per ticket."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from tests.conftest import Harness, ManualClock


async def _levels(harness: Harness, ticket_id: int) -> list[int]:
    return [e["data"]["level"] for e in await harness.events(type="ticket.escalated", aggregate_id=str(ticket_id))]


async def test_critical_unassigned_then_unresolved(timed_harness: Harness, clock: ManualClock) -> None:
    harness = timed_harness
    admin, agent, requester = await harness.user("admin"), await harness.user("agent"), await harness.user("requester")
    start = clock.now
    opened = await harness.client.post(
        "/api/tickets", json={"title": "Datacenter outage", "description": "all racks"}, headers=requester.headers
    )
    tid = opened.json()["id"]
    await harness.settle()

    async def at(minutes: float, runs: int = 1) -> None:
        clock.now = start + timedelta(minutes=minutes)
        await asyncio.gather(*(harness.nixflow.scheduler.run_due(now=clock.now) for _ in range(runs)))
        await harness.settle()

    await at(14)
    assert await _levels(harness, tid) == []
    await at(16, runs=3)
    await at(20)
    assert await _levels(harness, tid) == [1]
    ticket: dict[str, Any] = (await harness.client.get(f"/api/tickets/{tid}", headers=admin.headers)).json()
    assert ticket["escalation_level"] == 1
    notes = await harness.events(type="notification.requested", aggregate_id=str(tid))
    assert [n["data"]["recipient_role"] for n in notes] == ["admin"]
    [escalated] = await harness.events(type="ticket.escalated", aggregate_id=str(tid))
    assert escalated["data"]["rule_id"] is not None and escalated["metadata"]["rule_id"] == escalated["data"]["rule_id"]

    patched = await harness.client.patch(
        f"/api/tickets/{tid}", json={"version": ticket["version"], "assignee_id": agent.id}, headers=admin.headers
    )
    assert patched.status_code == 200, patched.text
    await at(61, runs=2)
    await at(300)
    assert await _levels(harness, tid) == [1, 2]
    assert (await harness.client.get(f"/api/tickets/{tid}", headers=admin.headers)).json()["escalation_level"] == 2


async def test_assigned_in_time_skips_level_one_and_resolved_stops_escalation(
    timed_harness: Harness, clock: ManualClock
) -> None:
    harness = timed_harness
    admin, agent, requester = await harness.user("admin"), await harness.user("agent"), await harness.user("requester")
    start = clock.now
    first = (
        await harness.client.post(
            "/api/tickets", json={"title": "Site down", "description": "x"}, headers=requester.headers
        )
    ).json()
    second = (
        await harness.client.post(
            "/api/tickets", json={"title": "Shop down", "description": "y"}, headers=requester.headers
        )
    ).json()
    await harness.settle()
    for ticket in (first, second):
        current = (await harness.client.get(f"/api/tickets/{ticket['id']}", headers=admin.headers)).json()
        await harness.client.patch(
            f"/api/tickets/{ticket['id']}",
            json={"version": current["version"], "assignee_id": agent.id},
            headers=admin.headers,
        )
    for status in ("open", "resolved"):
        await harness.client.post(
            f"/api/tickets/{second['id']}/transition", json={"status": status}, headers=agent.headers
        )
    clock.now = start + timedelta(minutes=70)
    await harness.nixflow.scheduler.run_due(now=clock.now)
    await harness.settle()
    assert await _levels(harness, first["id"]) == [2]
    assert await _levels(harness, second["id"]) == []


async def test_shadow_escalation_logs_once_and_changes_nothing(timed_harness: Harness, clock: ManualClock) -> None:
    harness = timed_harness
    admin, requester = await harness.user("admin"), await harness.user("requester")
    for rule in (await harness.client.get("/api/rules", headers=admin.headers)).json():
        if rule["kind"] == "escalation":
            await harness.client.patch(f"/api/rules/{rule['id']}", json={"active": False}, headers=admin.headers)
    created = await harness.client.post(
        "/api/rules",
        json={
            "name": "trial: stale tickets",
            "kind": "escalation",
            "mode": "shadow",
            "conditions": {"all": [{"field": "minutes_since_update", "op": "gte", "value": 30}]},
            "actions": [{"type": "escalate", "level": 3}],
        },
        headers=admin.headers,
    )
    assert created.status_code == 201, created.text
    start = clock.now
    tid = (
        await harness.client.post(
            "/api/tickets", json={"title": "Badge reader", "description": "z"}, headers=requester.headers
        )
    ).json()["id"]
    await harness.settle()
    for minutes in (29, 31, 45):
        clock.now = start + timedelta(minutes=minutes)
        await harness.nixflow.scheduler.run_due(now=clock.now)
        await harness.settle()
    shadowed = await harness.events(type="automation.rule_shadowed", aggregate_id=str(tid))
    assert [e["data"]["actions"] for e in shadowed] == [[{"type": "escalate", "level": 3}]]
    assert await _levels(harness, tid) == []
    assert (await harness.client.get(f"/api/tickets/{tid}", headers=admin.headers)).json()["escalation_level"] == 0
