"""Who is told what, beyond comments: approvals, SLA alarms, escalations and the `notify` rule action."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.conftest import Harness, ManualClock, User


async def _inbox(h: Harness, user: User) -> list[dict[str, Any]]:
    got = await h.client.get("/api/notifications", headers=user.headers)
    assert got.status_code == 200, got.text
    items: list[dict[str, Any]] = got.json()["items"]
    return items


async def test_approvals_reach_approvers_then_the_requester(harness: Harness, admin: User, requester: User) -> None:
    approver = await harness.user("agent", can_approve=True)
    plain_agent = await harness.user("agent")
    opened = await harness.client.post(
        "/api/tickets",
        json={"title": "New laptop", "description": "mine is old", "requires_approval": True},
        headers=requester.headers,
    )
    ticket_id = opened.json()["id"]
    await harness.settle()
    for user in (admin, approver):
        [asked] = await _inbox(harness, user)
        assert asked["kind"] == "approvals" and asked["title"].startswith("Approval requested")
    assert await _inbox(harness, plain_agent) == [] and await _inbox(harness, requester) == []
    decided = await harness.client.post(
        f"/api/tickets/{ticket_id}/approve", json={"reason": "budget ok"}, headers=admin.headers
    )
    assert decided.status_code == 200, decided.text
    await harness.settle()
    [told] = await _inbox(harness, requester)
    assert told["kind"] == "approvals" and "budget ok" in told["body"]
    assert len(await _inbox(harness, admin)) == 1  # the approver caused the decision


async def test_a_notify_rule_tells_its_role_with_the_rule_as_the_reason(
    harness: Harness, admin: User, agent: User, requester: User
) -> None:
    rule = {
        "name": "printers concern every agent",
        "kind": "prioritization",
        "conditions": {"any": [{"field": "text", "op": "contains_word", "value": ["printer"]}]},
        "actions": [{"type": "notify", "role": "agent"}],
    }
    made = await harness.client.post("/api/rules", json=rule, headers=admin.headers)
    assert made.status_code == 201, made.text
    other_agent = await harness.user("agent")
    await harness.client.post(
        "/api/tickets", json={"title": "printer on fire", "description": "x"}, headers=requester.headers
    )
    await harness.settle()
    for user in (agent, other_agent):
        [told] = await _inbox(harness, user)
        assert told["kind"] == "rules" and told["rule_id"] == made.json()["id"]
        assert told["event_type"] == "notification.requested" and "printers concern every agent" in told["reason"]
    assert await _inbox(harness, admin) == [] and await _inbox(harness, requester) == []


async def test_sla_breach_and_escalation_reach_admins_when_unassigned_never_the_requester(
    timed_harness: Harness, clock: ManualClock
) -> None:
    h = timed_harness
    admin, agent, requester = await h.user("admin"), await h.user("agent"), await h.user("requester")
    opened = await h.client.post(
        "/api/tickets", json={"title": "Core switch is down", "description": "all floors"}, headers=requester.headers
    )  # critical: first response due in 15 minutes
    ticket_id = opened.json()["id"]
    await h.settle()
    start = clock.now
    for minutes in (13, 16, 40):
        clock.now = start + timedelta(minutes=minutes)
        await h.nixflow.scheduler.run_due(now=clock.now)
        await h.settle()
    told = await _inbox(h, admin)
    sla = [n["title"].split(":")[0] for n in told if n["kind"] == "sla"]
    assert "SLA warning (first response)" in sla and "SLA breached (first response)" in sla
    assert any(t.startswith("Escalated to level 1") for t in sla)
    assert all(n["ticket_id"] == ticket_id for n in told)
    assert await _inbox(h, requester) == [] and await _inbox(h, agent) == []

    version = (await h.client.get(f"/api/tickets/{ticket_id}", headers=admin.headers)).json()["version"]
    await h.client.patch(
        f"/api/tickets/{ticket_id}", json={"version": version, "assignee_id": agent.id}, headers=admin.headers
    )
    await h.settle()
    before = len(await _inbox(h, admin))
    clock.now = start + timedelta(minutes=300)  # the resolution target (240 min) breaches: the assignee hears
    await h.nixflow.scheduler.run_due(now=clock.now)
    await h.settle()
    titles = [n["title"] for n in await _inbox(h, agent)]
    assert any(t.startswith("SLA breached (resolution)") for t in titles)
    admin_now = await _inbox(h, admin)
    fresh = admin_now[: len(admin_now) - before]  # newest first: what the admin was told since the assignment
    assert not any(n["title"].startswith("SLA breached") for n in fresh)
