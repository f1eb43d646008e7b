"""The ticket endpoints, through HTTP against a real database (SQLite, and PostgreSQL + Redis)."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.conftest import Harness, User

from nixflow.store import event_log


async def open_ticket(harness: Harness, user: User, **body: Any) -> dict[str, Any]:
    response = await harness.client.post(
        "/api/tickets", json={"title": "VPN drops", "description": "", **body}, headers=user.headers
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_a_new_ticket_has_the_contract_fields_and_an_sla(harness: Harness, requester: User) -> None:
    ticket = await open_ticket(harness, requester, description="every hour")
    assert set(ticket) == {
        "id",
        "title",
        "description",
        "status",
        "priority",
        "category_id",
        "requester_id",
        "assignee_id",
        "approval",
        "escalation_level",
        "version",
        "created_at",
        "updated_at",
        "sla",
        "tags",  # beyond CONTRACT.md's list, added by issue 25 (requesters: always [])
        "channel",  # issue 25 too: web, mail or api, for rules that route by it
        "organization_id",  # beyond CONTRACT.md's list, added by issue 25 (organizations)
        "fields",  # custom fields, issue 25 (requesters: the requester-visible ones)
        "merged_into",  # issue 26: the survivor a merged ticket points to (null: not merged)
    }
    assert ticket["tags"] == []
    assert ticket["status"] == "new" and ticket["priority"] == "normal" and ticket["approval"] == "not_required"
    assert ticket["requester_id"] == requester.id and ticket["version"] == 1
    assert ticket["created_at"].endswith("Z")
    assert set(ticket["sla"]) == {"first_response_due", "resolution_due", "first_response_at", "breached", "paused"}
    assert ticket["sla"]["paused"] is False and ticket["sla"]["breached"] == []


async def test_walk_the_whole_lifecycle(harness: Harness, requester: User, agent: User) -> None:
    ticket = await open_ticket(harness, requester)
    tid = ticket["id"]
    version = 1
    for status in ("open", "pending", "open", "resolved"):
        response = await harness.client.post(
            f"/api/tickets/{tid}/transition", json={"status": status}, headers=agent.headers
        )
        assert response.status_code == 200, response.text
        assert response.json()["status"] == status
        assert response.json()["version"] == version + 1
        version += 1
    reopened = await harness.client.post(
        f"/api/tickets/{tid}/transition", json={"status": "open"}, headers=requester.headers
    )
    assert reopened.status_code == 200
    await harness.client.post(f"/api/tickets/{tid}/transition", json={"status": "resolved"}, headers=agent.headers)
    closed = await harness.client.post(
        f"/api/tickets/{tid}/transition", json={"status": "closed"}, headers=requester.headers
    )
    assert closed.json()["status"] == "closed"
    again = await harness.client.post(f"/api/tickets/{tid}/transition", json={"status": "open"}, headers=agent.headers)
    assert again.status_code == 409
    comment = await harness.client.post(f"/api/tickets/{tid}/comments", json={"body": "late"}, headers=agent.headers)
    assert comment.status_code == 409
    await harness.settle()
    types = [e["type"] for e in (await harness.client.get(f"/api/tickets/{tid}/events", headers=agent.headers)).json()]
    assert types.count("ticket.status_changed") == 7
    assert "ticket.reopened" in types and types[-1] == "ticket.closed"


async def test_illegal_transition_is_409_and_changes_nothing(harness: Harness, requester: User, agent: User) -> None:
    ticket = await open_ticket(harness, requester)
    response = await harness.client.post(
        f"/api/tickets/{ticket['id']}/transition", json={"status": "closed"}, headers=agent.headers
    )
    assert response.status_code == 409
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "allowed" in response.json()["detail"]
    after = (await harness.client.get(f"/api/tickets/{ticket['id']}", headers=agent.headers)).json()
    assert after["status"] == "new" and after["version"] == 1


async def test_requesters_cannot_work_their_tickets_like_agents(harness: Harness, requester: User) -> None:
    ticket = await open_ticket(harness, requester)
    moved = await harness.client.post(
        f"/api/tickets/{ticket['id']}/transition", json={"status": "open"}, headers=requester.headers
    )
    assert moved.status_code == 403
    raised = await harness.client.patch(
        f"/api/tickets/{ticket['id']}", json={"version": 1, "priority": "critical"}, headers=requester.headers
    )
    assert raised.status_code == 403
    retitled = await harness.client.patch(
        f"/api/tickets/{ticket['id']}", json={"version": 1, "title": "VPN drops hourly"}, headers=requester.headers
    )
    assert retitled.status_code == 200 and retitled.json()["version"] == 2


async def test_stale_version_is_409(harness: Harness, requester: User, agent: User) -> None:
    ticket = await open_ticket(harness, requester)
    first = await harness.client.patch(
        f"/api/tickets/{ticket['id']}", json={"version": 1, "priority": "high"}, headers=agent.headers
    )
    assert first.status_code == 200 and first.json()["version"] == 2
    stale = await harness.client.patch(
        f"/api/tickets/{ticket['id']}", json={"version": 1, "priority": "low"}, headers=agent.headers
    )
    assert stale.status_code == 409
    assert (await harness.client.get(f"/api/tickets/{ticket['id']}", headers=agent.headers)).json()[
        "priority"
    ] == "high"


async def test_patch_emits_one_event_per_kind_of_change(
    harness: Harness, requester: User, agent: User, admin: User
) -> None:
    category = (
        await harness.client.post(
            "/api/categories", json={"name": "Network", "agent_ids": [agent.id]}, headers=admin.headers
        )
    ).json()
    ticket = await open_ticket(harness, requester)
    response = await harness.client.patch(
        f"/api/tickets/{ticket['id']}",
        json={
            "version": 1,
            "title": "VPN down",
            "priority": "critical",
            "category_id": category["id"],
            "assignee_id": agent.id,
        },
        headers=agent.headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["priority"], body["category_id"], body["assignee_id"], body["version"]) == (
        "critical",
        category["id"],
        agent.id,
        2,
    )
    assert body["sla"]["first_response_due"] < ticket["sla"]["first_response_due"]  # critical is due sooner
    await harness.settle()
    events = (await harness.client.get(f"/api/tickets/{ticket['id']}/events", headers=agent.headers)).json()
    assert [e["type"] for e in events] == [
        "ticket.created",
        "ticket.updated",
        "ticket.priority_changed",
        "ticket.category_changed",
        "ticket.assigned",
    ]
    assert len({e["metadata"]["correlation_id"] for e in events[1:]}) == 1
    assert events[4]["data"] == {"ticket_id": ticket["id"], "assignee_id": agent.id, "previous_assignee_id": None}


async def test_assignee_must_be_an_active_agent(harness: Harness, requester: User, agent: User) -> None:
    ticket = await open_ticket(harness, requester)
    for bad in (requester.id, 0, 999_999):
        response = await harness.client.patch(
            f"/api/tickets/{ticket['id']}", json={"version": 1, "assignee_id": bad}, headers=agent.headers
        )
        assert response.status_code == 409, bad  # well-formed, but no active agent by that id


async def test_comments_internal_ones_hidden_from_requesters(harness: Harness, requester: User, agent: User) -> None:
    ticket = await open_ticket(harness, requester)
    tid = ticket["id"]
    note = await harness.client.post(
        f"/api/tickets/{tid}/comments", json={"body": "suspect the firewall", "internal": True}, headers=agent.headers
    )
    assert note.status_code == 201
    reply = await harness.client.post(
        f"/api/tickets/{tid}/comments", json={"body": "Looking into it"}, headers=agent.headers
    )
    assert reply.status_code == 201
    sneaky = await harness.client.post(
        f"/api/tickets/{tid}/comments", json={"body": "x", "internal": True}, headers=requester.headers
    )
    assert sneaky.status_code == 403
    await harness.settle()
    seen = (await harness.client.get(f"/api/tickets/{tid}/comments", headers=requester.headers)).json()
    assert [c["body"] for c in seen] == ["Looking into it"]
    staff = (await harness.client.get(f"/api/tickets/{tid}/comments", headers=agent.headers)).json()
    assert len(staff) == 2
    timeline = (await harness.client.get(f"/api/tickets/{tid}/events", headers=requester.headers)).json()
    assert "suspect the firewall" not in str(timeline)
    assert [e["type"] for e in timeline].count("ticket.commented") == 1


async def test_first_public_agent_comment_meets_first_response(harness: Harness, requester: User, agent: User) -> None:
    ticket = await open_ticket(harness, requester)
    await harness.client.post(
        f"/api/tickets/{ticket['id']}/comments", json={"body": "more info"}, headers=requester.headers
    )
    await harness.client.post(
        f"/api/tickets/{ticket['id']}/comments", json={"body": "internal", "internal": True}, headers=agent.headers
    )
    unanswered = (await harness.client.get(f"/api/tickets/{ticket['id']}", headers=agent.headers)).json()
    assert unanswered["sla"]["first_response_at"] is None
    await harness.client.post(f"/api/tickets/{ticket['id']}/comments", json={"body": "on it"}, headers=agent.headers)
    answered = (await harness.client.get(f"/api/tickets/{ticket['id']}", headers=agent.headers)).json()
    assert answered["sla"]["first_response_at"] is not None
    await harness.settle()
    assert [e["data"]["target"] for e in await harness.events(type="sla.met")] == ["first_response"]


async def test_pending_pauses_the_sla_clock(harness: Harness, requester: User, agent: User) -> None:
    ticket = await open_ticket(harness, requester)
    tid = ticket["id"]
    await harness.client.post(f"/api/tickets/{tid}/transition", json={"status": "open"}, headers=agent.headers)
    paused = (
        await harness.client.post(f"/api/tickets/{tid}/transition", json={"status": "pending"}, headers=agent.headers)
    ).json()
    assert paused["sla"]["paused"] is True
    await asyncio.sleep(1.1)
    resumed = (
        await harness.client.post(f"/api/tickets/{tid}/transition", json={"status": "open"}, headers=agent.headers)
    ).json()
    assert resumed["sla"]["paused"] is False
    assert resumed["sla"]["resolution_due"] > ticket["sla"]["resolution_due"]


async def test_approval_flow(harness: Harness, requester: User, agent: User, admin: User) -> None:
    ticket = await open_ticket(harness, requester, requires_approval=True)
    assert ticket["approval"] == "pending"
    denied = await harness.client.post(f"/api/tickets/{ticket['id']}/approve", json={}, headers=agent.headers)
    assert denied.status_code == 403
    approver = await harness.user("agent", can_approve=True)
    approved = await harness.client.post(
        f"/api/tickets/{ticket['id']}/approve", json={"reason": "budget ok"}, headers=approver.headers
    )
    assert approved.status_code == 200 and approved.json()["approval"] == "approved"
    twice = await harness.client.post(f"/api/tickets/{ticket['id']}/reject", json={}, headers=admin.headers)
    assert twice.status_code == 409
    other = await open_ticket(harness, requester, requires_approval=True)
    rejected = await harness.client.post(f"/api/tickets/{other['id']}/reject", headers=admin.headers)
    assert rejected.status_code == 200 and rejected.json()["approval"] == "rejected"
    plain = await open_ticket(harness, requester)
    assert (await harness.client.post(f"/api/tickets/{plain['id']}/approve", headers=admin.headers)).status_code == 409
    await harness.settle()
    assert len(await harness.events(type="ticket.approval_requested")) == 2
    [approved_event] = await harness.events(type="ticket.approved")
    assert approved_event["data"]["approver_id"] == approver.id and approved_event["data"]["reason"] == "budget ok"


async def test_list_filters_and_cursor(harness: Harness, requester: User, agent: User) -> None:
    created = [
        await open_ticket(harness, requester, title=f"Laptop {i}", priority="high" if i % 2 else "low")
        for i in range(7)
    ]
    await open_ticket(harness, requester, title="Printer on fire")
    high = (await harness.client.get("/api/tickets", params={"priority": "high"}, headers=agent.headers)).json()
    assert {t["id"] for t in high["items"]} == {t["id"] for t in created if t["priority"] == "high"}
    found = (await harness.client.get("/api/tickets", params={"q": "fire"}, headers=agent.headers)).json()
    assert [t["title"] for t in found["items"]] == ["Printer on fire"]
    seen: list[int] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 3, "q": "Laptop"}
        if cursor:
            params["cursor"] = cursor
        page = (await harness.client.get("/api/tickets", params=params, headers=agent.headers)).json()
        seen += [t["id"] for t in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted((t["id"] for t in created), reverse=True)
    bad = await harness.client.get("/api/tickets", params={"cursor": "!!"}, headers=agent.headers)
    assert bad.status_code == 422
    wrong = await harness.client.get("/api/tickets", params={"priority": "urgent"}, headers=agent.headers)
    assert wrong.status_code == 422


async def test_list_by_assignee_or_unassigned(harness: Harness, requester: User, agent: User, admin: User) -> None:
    taken, waiting = [await open_ticket(harness, requester, title=t) for t in ("taken", "waiting")]
    patched = await harness.client.patch(
        f"/api/tickets/{taken['id']}",
        json={"version": taken["version"], "assignee_id": agent.id},
        headers=admin.headers,
    )
    assert patched.status_code == 200, patched.text
    for params, expected in (({"assignee_id": agent.id}, [taken["id"]]), ({"unassigned": "true"}, [waiting["id"]])):
        page = (await harness.client.get("/api/tickets", params=params, headers=agent.headers)).json()
        assert [t["id"] for t in page["items"]] == expected, params
    wrong = await harness.client.get("/api/tickets", params={"unassigned": "maybe"}, headers=agent.headers)
    assert wrong.status_code == 422


async def test_bad_input_is_4xx_and_changes_nothing(harness: Harness, requester: User, admin: User) -> None:
    cases: list[tuple[Any, int]] = [
        ({"title": 5}, 422),
        ({"title": ""}, 422),
        ({"title": "x" * 201}, 422),
        ({"title": "ok", "priority": "urgent"}, 422),
        ({"title": "ok", "category_id": "3"}, 422),
        ({"title": "ok", "category_id": 424242}, 404),
        ({"title": "ok", "surprise": 1}, 422),
        ([1, 2], 422),
        ({"title": "ok", "requires_approval": "yes"}, 422),
    ]
    for body, status in cases:
        response = await harness.client.post("/api/tickets", json=body, headers=requester.headers)
        assert response.status_code == status, (body, response.text)
        assert response.json()["status"] == status
    raw = await harness.client.post(
        "/api/tickets", content=b"{not json", headers={**requester.headers, "content-type": "application/json"}
    )
    assert raw.status_code in (400, 422)
    huge = await harness.client.post(
        "/api/tickets", content=b"x" * 2_000_000, headers={**requester.headers, "content-type": "application/json"}
    )
    assert huge.status_code == 413
    assert (await harness.client.get("/api/tickets/999999", headers=requester.headers)).status_code == 404
    listed = (await harness.client.get("/api/tickets", headers=admin.headers)).json()
    assert listed["items"] == []
    assert await harness.events(category="ticket") == []


async def test_concurrent_writes_are_all_committed_in_order(harness: Harness, requester: User, mode: str) -> None:
    db = harness.nixflow.db
    start = await db.read(event_log.head)
    responses = await asyncio.gather(
        *[
            harness.client.post("/api/tickets", json={"title": f"burst {i}: printer down"}, headers=requester.headers)
            for i in range(60)
        ]
    )
    assert all(r.status_code == 201 for r in responses)
    assert len({r.json()["id"] for r in responses}) == 60
    await harness.settle()
    created = await harness.events(type="ticket.created")
    assert len(created) == 60
    assert all(e["status"] == "completed" for e in created)
    # Commit order, as every reader of the log sees it (the live views' reader, not the helper's sort by seq):
    # each event comes after the event that caused it, which committed first.
    order: list[Any] = []
    position = start
    for _ in range(200):
        more, position = await db.read(lambda conn, at=position: event_log.after(conn, at))
        order += more
        if not more and len([r for r in order if r.type == "ticket.created"]) == 60:
            break
        await asyncio.sleep(0.02)
    index = {r.event_id: i for i, r in enumerate(order)}
    assert {e["event_id"] for e in created} <= set(index)
    caused = [(r, r.causation_id) for r in order if r.causation_id in index]
    assert len(caused) >= 60  # automation reacted to every ticket (priority rules, assignment, SLA clock)
    assert all(index[cause] < index[r.event_id] for r, cause in caused), "an effect was read before its cause"
    if mode == "embedded":  # one writer: the tickets' ids were handed out in commit order too
        ids = [int(r.aggregate_id) for r in order if r.type == "ticket.created"]
        assert ids == sorted(ids)
