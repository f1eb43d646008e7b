"""A step's deadline, through the worker's timer at simulated times: escalated to the people the step names
(who may then decide), or, with nobody to escalate to, the workflow ends rejected with its outcome."""

from __future__ import annotations

from datetime import timedelta

from tests.conftest import Harness, ManualClock
from tests.workflow_helpers import laptop, ok, open_ticket


async def _at(h: Harness, clock: ManualClock, start: object, hours: float) -> None:
    clock.now = start + timedelta(hours=hours)  # type: ignore[operator]
    await h.nixflow.scheduler.run_due(now=clock.now)
    await h.settle()


async def test_a_deadline_escalates_then_an_unescalated_one_expires(timed_harness: Harness, clock: ManualClock) -> None:
    h = timed_harness
    admin = await h.user("admin")
    boss = await h.user("agent", name="Bea Boss")
    setup = await laptop(h, admin, deadline_hours=2, escalate_to=[boss.id])
    start = clock.now
    ticket_id = await open_ticket(h, setup)
    state = await ok(await h.client.get(f"/api/tickets/{ticket_id}/workflow", headers=admin.headers))
    assert state["steps"][0]["due_at"] is not None
    assert (
        await h.client.post(f"/api/tickets/{ticket_id}/workflow", json={"approve": True}, headers=boss.headers)
    ).status_code == 403

    await _at(h, clock, start, 1.9)
    assert await h.events(type="workflow.expired") == []
    await _at(h, clock, start, 2.1)
    await _at(h, clock, start, 2.2)  # a second run of the job fires nothing more
    [expired] = await h.events(type="workflow.expired", aggregate_id=str(ticket_id))
    assert expired["data"]["escalated_to"] == [boss.id] and expired["data"]["step"] == 0
    asked = await ok(await h.client.get(f"/api/tickets/{ticket_id}/workflow", headers=boss.headers))
    assert asked["status"] == "running" and asked["may_decide"] is True and asked["steps"][0]["due_at"] is None
    # "all" of the manager and the boss now; the boss's no decides it.
    decided = await h.client.post(f"/api/tickets/{ticket_id}/workflow", json={"approve": False}, headers=boss.headers)
    assert (await ok(decided))["status"] == "rejected"

    plain = await ok(
        await h.client.post(
            "/api/workflows",
            json={
                "name": "Quick",
                "steps": [{"name": "Admins", "approvers": {"kind": "role", "role": "admin"}, "deadline_hours": 1}],
                "on_rejected": {"status": "resolved"},
            },
            headers=admin.headers,
        ),
        201,
    )
    other = await ok(
        await h.client.post("/api/tickets", json={"title": "Monitor"}, headers=setup.requester.headers), 201
    )
    await ok(
        await h.client.post(
            f"/api/tickets/{other['id']}/workflow/start", json={"workflow_id": plain["id"]}, headers=admin.headers
        ),
        201,
    )
    await _at(h, clock, start, 3.5)
    state = await ok(await h.client.get(f"/api/tickets/{other['id']}/workflow", headers=admin.headers))
    assert state["status"] == "expired" and [s["status"] for s in state["steps"]] == ["expired"]
    [ended] = await h.events(type="workflow.rejected", aggregate_id=str(other["id"]))
    assert ended["data"]["by_id"] is None and "deadline" in ended["data"]["reason"]
    assert (await ok(await h.client.get(f"/api/tickets/{other['id']}", headers=admin.headers)))["status"] == "resolved"
    late = await h.client.post(f"/api/tickets/{other['id']}/workflow", json={"approve": True}, headers=admin.headers)
    assert late.status_code == 409
