"""Approval workflows through the API, in both modes: definitions checked whole, a category's workflow started on
its new tickets, steps decided by all / any / N of M, delegation, who may decide, and the outcome applied."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from tests.conftest import Harness, User
from tests.workflow_helpers import laptop, ok, open_ticket


async def _decide(
    h: Harness, ticket_id: int, user: User, approve: bool, reason: str | None = None, step: int | None = None
) -> Any:
    body = {"approve": approve, "reason": reason, "step": step}
    return await h.client.post(f"/api/tickets/{ticket_id}/workflow", json=body, headers=user.headers)


async def _types(h: Harness, ticket_id: int) -> list[str]:
    events = await h.events(aggregate_id=str(ticket_id), aggregate_type="ticket")
    return [e["type"] for e in events if e["type"].startswith("workflow.")]


async def test_bad_definitions_are_refused_whole_and_nothing_is_stored(harness: Harness, admin: User) -> None:
    h = harness
    step = {"name": "Boss", "approvers": {"kind": "role", "role": "admin"}}
    bad: list[tuple[dict[str, Any], list[Any]]] = [
        ({"name": "No steps", "steps": []}, ["body", "steps"]),
        ({"name": "Bad role", "steps": [{**step, "approvers": {"kind": "role", "role": "king"}}]}, None),
        (
            {
                "name": "Three of two",
                "steps": [
                    {
                        **step,
                        "rule": "n_of_m",
                        "required": 3,
                        "approvers": {"kind": "users", "user_ids": [admin.id, admin.id + 999]},
                    }
                ],
            },
            None,
        ),
        ({"name": "Ghost", "steps": [{**step, "approvers": {"kind": "users", "user_ids": [admin.id + 999]}}]}, None),
        ({"name": "No field", "steps": [{**step, "approvers": {"kind": "manager", "field": "boss"}}]}, None),
        ({"name": "No category", "steps": [{**step, "approvers": {"kind": "team", "category_id": 999}}]}, None),
        ({"name": "Escalate, never due", "steps": [{**step, "escalate_to": [admin.id]}]}, None),
        ({"name": "No macro", "steps": [step], "on_approved": {"macro_id": 999}}, ["body", "on_approved", "macro_id"]),
        ({"name": "", "steps": [step]}, ["body", "name"]),
        ({"name": "Truthy", "steps": [step], "active": 0}, ["body", "active"]),  # a boolean, not 0 or 1
    ]
    for body, loc in bad:
        refused = await h.client.post("/api/workflows", json=body, headers=admin.headers)
        assert refused.status_code == 422, (body, refused.text)
        if loc is not None:
            assert any(e["loc"] == loc for e in refused.json()["errors"]), refused.json()
    assert await ok(await h.client.get("/api/workflows", headers=admin.headers)) == []
    assert await h.events(type="workflow.definition_created") == []
    made = await ok(
        await h.client.post("/api/workflows", json={"name": "Fine", "steps": [step]}, headers=admin.headers), 201
    )
    assert made["steps"][0]["rule"] == "all" and made["on_approved"] == {}
    again = await h.client.post("/api/workflows", json={"name": "Fine", "steps": [step]}, headers=admin.headers)
    assert again.status_code == 409
    url = f"/api/workflows/{made['id']}"
    bad_change = await h.client.put(
        url, json={"name": "Fine", "steps": [{**step, "rule": "n_of_m"}]}, headers=admin.headers
    )
    assert bad_change.status_code == 422  # N of M without N; the stored one stays
    assert (await ok(await h.client.get(url, headers=admin.headers)))["steps"][0]["rule"] == "all"
    changed = await ok(
        await h.client.put(url, json={"name": "Finer", "steps": [{**step, "rule": "any"}]}, headers=admin.headers)
    )
    assert changed["name"] == "Finer" and changed["steps"][0]["rule"] == "any"
    await ok(await h.client.delete(url, headers=admin.headers), 204)
    assert (await h.client.get(url, headers=admin.headers)).status_code == 404
    kinds = [e["type"] for e in await h.events(aggregate_type="workflow")]
    assert kinds == ["workflow.definition_created", "workflow.definition_updated", "workflow.definition_deleted"]


async def test_manager_then_it_approve_and_the_outcome_applies(harness: Harness, admin: User) -> None:
    h = harness
    setup = await laptop(h, admin)
    ticket_id = await open_ticket(h, setup)
    state = await ok(await h.client.get(f"/api/tickets/{ticket_id}/workflow", headers=setup.manager.headers))
    assert state["status"] == "running" and state["may_decide"] is True
    assert [s["status"] for s in state["steps"]] == ["pending", "waiting"]
    assert state["steps"][0]["approver_ids"] == [setup.manager.id]
    # IT is not asked yet, and the requester never is.
    assert (await _decide(h, ticket_id, setup.it[0], True)).status_code == 403
    assert (await _decide(h, ticket_id, setup.requester, True)).status_code == 403
    await ok(await _decide(h, ticket_id, setup.manager, True, "needed for travel"))
    again = await _decide(h, ticket_id, setup.manager, True, step=0)  # the page still showed step 1
    assert again.status_code == 409, again.text
    state = await ok(await _decide(h, ticket_id, setup.it[1], True, "in stock"))
    assert state["status"] == "approved" and [s["status"] for s in state["steps"]] == ["approved", "approved"]
    assert [(d["by_id"], d["for_id"], d["approve"], d["reason"]) for d in state["decisions"]] == [
        (setup.manager.id, setup.manager.id, True, "needed for travel"),
        (setup.it[1].id, setup.it[1].id, True, "in stock"),
    ]
    await h.settle()
    assert await _types(h, ticket_id) == [
        "workflow.started",
        "workflow.decided",
        "workflow.step_completed",
        "workflow.decided",
        "workflow.approved",
    ]
    ticket = await ok(await h.client.get(f"/api/tickets/{ticket_id}", headers=admin.headers))
    assert ticket["status"] == "open"  # on_approved
    late = await _decide(h, ticket_id, setup.it[0], False)
    assert late.status_code == 409


@pytest.mark.parametrize("mode", ["embedded"], indirect=True)  # the decision logic; storage as in the test above
async def test_a_rejection_ends_the_workflow_with_its_outcome(harness: Harness, admin: User) -> None:
    h = harness
    setup = await laptop(h, admin)
    ticket_id = await open_ticket(h, setup)
    await ok(await _decide(h, ticket_id, setup.manager, False, "you got one last year"))
    await h.settle()
    state = await ok(await h.client.get(f"/api/tickets/{ticket_id}/workflow", headers=admin.headers))
    assert state["status"] == "rejected" and [s["status"] for s in state["steps"]] == ["rejected", "skipped"]
    [rejected] = await h.events(type="workflow.rejected", aggregate_id=str(ticket_id))
    assert rejected["data"]["by_id"] == setup.manager.id and rejected["data"]["reason"] == "you got one last year"
    assert (await ok(await h.client.get(f"/api/tickets/{ticket_id}", headers=admin.headers)))["status"] == "resolved"
    told = await ok(await h.client.get("/api/notifications", headers=setup.requester.headers))
    answer = [n for n in told["items"] if n["kind"] == "approvals"]
    assert [n["body"] for n in answer] == ["Laptop request was rejected by Mona Manager: you got one last year"]


@pytest.mark.parametrize("mode", ["embedded"], indirect=True)  # the counting is the same on both
async def test_all_any_and_n_of_m(harness: Harness, admin: User, requester: User) -> None:
    h = harness
    board = [await h.user("agent") for _ in range(3)]
    ids = [u.id for u in board]
    steps = [
        {"name": "Two of three", "approvers": {"kind": "users", "user_ids": ids}, "rule": "n_of_m", "required": 2},
        {"name": "Everyone", "approvers": {"kind": "users", "user_ids": ids[:2]}, "rule": "all"},
    ]
    made = await ok(
        await h.client.post("/api/workflows", json={"name": "Board", "steps": steps}, headers=admin.headers), 201
    )
    ticket = await ok(await h.client.post("/api/tickets", json={"title": "Budget"}, headers=requester.headers), 201)
    started = await h.client.post(
        f"/api/tickets/{ticket['id']}/workflow/start", json={"workflow_id": made["id"]}, headers=board[0].headers
    )
    assert (await ok(started, 201))["current_step"] == 0
    second = await h.client.post(
        f"/api/tickets/{ticket['id']}/workflow/start", json={"workflow_id": made["id"]}, headers=admin.headers
    )
    assert second.status_code == 409
    await ok(await _decide(h, ticket["id"], board[0], False))
    twice = await _decide(h, ticket["id"], board[0], True)
    assert twice.status_code == 409 and "already" in twice.json()["detail"]
    assert (await ok(await _decide(h, ticket["id"], board[1], True)))["current_step"] == 0  # 1 yes, 1 no of 3
    state = await ok(await _decide(h, ticket["id"], board[2], True))
    assert state["current_step"] == 1 and state["status"] == "running"  # 2 of 3
    assert (await ok(await _decide(h, ticket["id"], board[0], True)))["status"] == "running"  # all: one more
    assert (await ok(await _decide(h, ticket["id"], board[1], False)))["status"] == "rejected"


async def test_a_delegate_decides_for_an_approver_who_is_away(harness: Harness, admin: User) -> None:
    h = harness
    setup = await laptop(h, admin)
    deputy = await h.user("agent", name="Dora Deputy")
    away = {"delegate_id": deputy.id, "starts_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(), "days": 3}
    to_self = await h.client.put(
        "/api/workflow-delegation", json={**away, "delegate_id": setup.manager.id}, headers=setup.manager.headers
    )
    assert to_self.status_code == 409
    for when in (0, "1735689600", "tomorrow"):  # an RFC 3339 time, not a Unix timestamp or words
        bad = await h.client.put(
            "/api/workflow-delegation", json={**away, "starts_at": when}, headers=setup.manager.headers
        )
        assert bad.status_code == 422, (when, bad.text)
    huge = {**away, "delegate_id": 2**66}  # past any id: a 422, never the database's overflow (a 500 before)
    assert (await h.client.put("/api/workflow-delegation", json=huge, headers=setup.manager.headers)).status_code == 422
    await ok(await h.client.put("/api/workflow-delegation", json=away, headers=setup.manager.headers))
    mine = await ok(await h.client.get("/api/workflow-delegation", headers=setup.manager.headers))
    assert mine["delegate_id"] == deputy.id
    ticket_id = await open_ticket(h, setup)
    [started] = await h.events(type="workflow.started", aggregate_id=str(ticket_id))
    assert started["data"]["delegate_ids"] == [deputy.id]
    state = await ok(await _decide(h, ticket_id, deputy, True, "Mona is on leave; fine"))
    assert state["decisions"][0]["by_id"] == deputy.id and state["decisions"][0]["for_id"] == setup.manager.id
    assert state["current_step"] == 1
    assert (await _decide(h, ticket_id, deputy, True)).status_code == 403  # stands in for no IT member
    await ok(await h.client.delete("/api/workflow-delegation", headers=setup.manager.headers), 204)
    assert await ok(await h.client.get("/api/workflow-delegation", headers=setup.manager.headers)) is None
    set_, ended = await h.events(type="workflow.delegation_set", aggregate_id=str(setup.manager.id))
    assert set_["data"]["delegate_id"] == deputy.id and ended["data"]["delegate_id"] is None


@pytest.mark.parametrize("mode", ["embedded"], indirect=True)  # the rule engine's action; storage as above
async def test_a_rule_starts_a_workflow_once(harness: Harness, admin: User, requester: User) -> None:
    h = harness
    step = {"name": "Admins", "approvers": {"kind": "role", "role": "admin"}}
    made = await ok(
        await h.client.post("/api/workflows", json={"name": "Spend", "steps": [step]}, headers=admin.headers), 201
    )
    rule = {
        "name": "purchases need approval",
        "kind": "prioritization",
        "conditions": {"any": [{"field": "text", "op": "contains_word", "value": ["purchase"]}]},
        "actions": [{"type": "start_workflow", "workflow_id": made["id"] + 100}],
    }
    refused = await h.client.post("/api/rules", json=rule, headers=admin.headers)
    assert refused.status_code == 422 and "no workflow" in refused.text
    rule["actions"] = [{"type": "start_workflow", "workflow_id": made["id"]}]
    await ok(await h.client.post("/api/rules", json=rule, headers=admin.headers), 201)
    ticket = await ok(await h.client.post("/api/tickets", json={"title": "A purchase"}, headers=requester.headers), 201)
    other = await ok(await h.client.post("/api/tickets", json={"title": "A question"}, headers=requester.headers), 201)
    await h.settle()
    now = await ok(await h.client.get(f"/api/tickets/{ticket['id']}", headers=admin.headers))
    again = {"title": "A purchase, again", "version": now["version"]}  # the rule matches once more
    await ok(await h.client.patch(f"/api/tickets/{ticket['id']}", json=again, headers=admin.headers))
    await h.settle()
    assert len(await h.events(type="automation.rule_applied", aggregate_id=str(ticket["id"]))) == 2
    assert len(await h.events(type="workflow.started", aggregate_id=str(ticket["id"]))) == 1  # not twice
    assert await h.events(type="workflow.started", aggregate_id=str(other["id"])) == []
    state = await ok(await h.client.get(f"/api/tickets/{ticket['id']}/workflow", headers=admin.headers))
    assert state["name"] == "Spend" and state["may_decide"] is True


async def test_a_ticket_waiting_on_a_workflow_is_not_merged_away(harness: Harness, admin: User) -> None:
    h = harness
    setup = await laptop(h, admin)
    waiting = await open_ticket(h, setup)
    other = await open_ticket(h, setup, "Another laptop")
    merge = {"into": other}
    refused = await h.client.post(f"/api/tickets/{waiting}/merge", json=merge, headers=setup.it[0].headers)
    assert refused.status_code == 409, refused.text
    assert "Laptop request" in refused.json()["detail"]
    assert (await ok(await h.client.get(f"/api/tickets/{waiting}", headers=admin.headers)))["merged_into"] is None
    assert await h.events(type="ticket.merged") == []
    # The run ends (the manager rejects): then the ticket merges.
    await ok(await _decide(h, waiting, setup.manager, False, "no budget"))
    merged = await h.client.post(f"/api/tickets/{waiting}/merge", json=merge, headers=setup.it[0].headers)
    assert merged.status_code == 200, merged.text
