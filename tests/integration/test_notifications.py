"""Notifications made from events: who is told what, in-app, with watchers and preferences (both modes)."""

from __future__ import annotations

from typing import Any

from tests.conftest import Harness, User


async def _category_with(harness: Harness, admin: User, agent: User) -> int:
    made = await harness.client.post(
        "/api/categories", json={"name": "Desk", "agent_ids": [agent.id]}, headers=admin.headers
    )
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


async def _open(harness: Harness, requester: User, category_id: int | None = None) -> int:
    body: dict[str, Any] = {"title": "Printer jams", "description": "on floor 2"}
    if category_id is not None:
        body["category_id"] = category_id
    opened = await harness.client.post("/api/tickets", json=body, headers=requester.headers)
    assert opened.status_code == 201, opened.text
    await harness.settle()
    return int(opened.json()["id"])


async def _inbox(harness: Harness, user: User, **params: Any) -> list[dict[str, Any]]:
    got = await harness.client.get("/api/notifications", params=params, headers=user.headers)
    assert got.status_code == 200, got.text
    items: list[dict[str, Any]] = got.json()["items"]
    return items


async def _comment(harness: Harness, user: User, ticket_id: int, body: str, internal: bool = False) -> None:
    said = await harness.client.post(
        f"/api/tickets/{ticket_id}/comments", json={"body": body, "internal": internal}, headers=user.headers
    )
    assert said.status_code == 201, said.text
    await harness.settle()


async def test_round_robin_assignment_tells_the_agent_and_why(
    harness: Harness, admin: User, agent: User, requester: User
) -> None:
    ticket_id = await _open(harness, requester, await _category_with(harness, admin, agent))
    [note] = await _inbox(harness, agent)
    assert note["kind"] == "assigned" and note["ticket_id"] == ticket_id
    assert "Agent" in note["body"] and "Printer jams" in note["title"]
    assert note["read_at"] is None and note["created_at"]
    assert note["event_type"] == "ticket.assigned" and note["rule_id"] is not None
    event = (await harness.client.get(f"/api/events/{note['event_id']}", headers=admin.headers)).json()
    assert event["type"] == "ticket.assigned" and event["data"]["assignee_id"] == agent.id
    assert await _inbox(harness, requester) == []  # who caused it is not told
    created = await harness.events(type="notification.created")
    assert [e["data"]["recipient_id"] for e in created] == [agent.id]


async def test_a_requester_comment_reaches_assignee_and_watchers_not_the_requester(
    harness: Harness, admin: User, agent: User, requester: User
) -> None:
    ticket_id = await _open(harness, requester, await _category_with(harness, admin, agent))
    watcher = await harness.user("agent")
    added = await harness.client.post(
        f"/api/tickets/{ticket_id}/watchers", json={"user_id": watcher.id}, headers=watcher.headers
    )
    assert added.status_code == 201, added.text
    await _comment(harness, requester, ticket_id, "It jams on every page")
    for user in (agent, watcher):
        [comment] = [n for n in await _inbox(harness, user) if n["kind"] == "comments"]
        assert comment["body"] == "It jams on every page" and comment["ticket_id"] == ticket_id
    assert [n["reason"] for n in await _inbox(harness, watcher)] == ["you watch this ticket"]
    assert await _inbox(harness, requester) == []
    await _comment(harness, agent, ticket_id, "Replaced the drum")
    [reply] = await _inbox(harness, requester)
    assert reply["body"] == "Replaced the drum"
    assert len(await _inbox(harness, agent)) == 2  # the assignment and the requester's comment, not their own


async def test_an_internal_note_never_reaches_the_requester(
    harness: Harness, admin: User, agent: User, requester: User
) -> None:
    ticket_id = await _open(harness, requester, await _category_with(harness, admin, agent))
    cc = await harness.client.post(
        f"/api/tickets/{ticket_id}/watchers", json={"email": admin.email}, headers=requester.headers
    )
    assert cc.status_code == 201, cc.text
    await _comment(harness, agent, ticket_id, "Requester sounds upset", internal=True)
    assert await _inbox(harness, requester) == []
    [note] = await _inbox(harness, admin)
    assert note["body"] == "Requester sounds upset" and note["title"].startswith("Internal note")
    created = await harness.events(type="notification.created")
    assert requester.id not in [e["data"]["recipient_id"] for e in created]


async def test_status_changes_reach_the_requester_only_when_resolved_closed_or_reopened(
    harness: Harness, admin: User, agent: User, requester: User
) -> None:
    ticket_id = await _open(harness, requester, await _category_with(harness, admin, agent))
    for status in ("open", "pending", "open", "resolved"):
        moved = await harness.client.post(
            f"/api/tickets/{ticket_id}/transition", json={"status": status}, headers=admin.headers
        )
        assert moved.status_code == 200, moved.text
    await harness.settle()
    told = [n["body"] for n in await _inbox(harness, requester)]
    assert told == ["Status: resolved (was open)"]
    assert len([n for n in await _inbox(harness, agent) if n["kind"] == "status"]) == 4


async def test_unread_count_read_one_and_read_all(harness: Harness, admin: User, agent: User, requester: User) -> None:
    ticket_id = await _open(harness, requester, await _category_with(harness, admin, agent))
    await _comment(harness, requester, ticket_id, "first")
    await _comment(harness, requester, ticket_id, "second")

    async def unread(user: User) -> int:
        got = await harness.client.get("/api/notifications/unread-count", headers=user.headers)
        assert got.status_code == 200, got.text
        return int(got.json()["count"])

    assert await unread(agent) == 3
    newest = await _inbox(harness, agent, limit=2)
    assert [n["body"] for n in newest] == ["second", "first"]
    page = await harness.client.get("/api/notifications", params={"limit": 2}, headers=agent.headers)
    rest = await _inbox(harness, agent, limit=2, cursor=page.json()["next_cursor"])
    assert [n["kind"] for n in rest] == ["assigned"]
    assert (
        await harness.client.post(f"/api/notifications/{newest[0]['id']}/read", headers=requester.headers)
    ).status_code == 404
    assert (
        await harness.client.post(f"/api/notifications/{newest[0]['id']}/read", headers=agent.headers)
    ).status_code == 204
    assert await unread(agent) == 2
    assert [n["body"] for n in await _inbox(harness, agent, unread="true")] == ["first", "Assigned to Agent"]
    assert (await harness.client.post("/api/notifications/read-all", headers=agent.headers)).status_code == 204
    assert await unread(agent) == 0 and await _inbox(harness, agent, unread="true") == []
    await harness.settle()
    read = await harness.events(type="notification.read")
    assert len(read) == 3 and {e["data"]["recipient_id"] for e in read} == {agent.id}
    bad = await harness.client.get("/api/notifications", params={"cursor": "nope"}, headers=agent.headers)
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json")


async def test_preferences_default_on_and_a_kind_switched_off_makes_nothing(
    harness: Harness, admin: User, agent: User, requester: User
) -> None:
    url = "/api/auth/me/notification-preferences"
    defaults = (await harness.client.get(url, headers=agent.headers)).json()
    kinds = {"assigned", "comments", "status", "approvals", "sla", "rules"}
    assert defaults == {"email": dict.fromkeys(kinds, True), "in_app": dict.fromkeys(kinds, True), "digest": "off"}
    wanted = {**defaults, "in_app": {**defaults["in_app"], "comments": False}, "digest": "daily"}
    for bad in (
        {**wanted, "digest": "weekly"},
        {**wanted, "email": {"assigned": True}},
        {**wanted, "in_app": {**wanted["in_app"], "sla": "yes"}},
    ):
        refused = await harness.client.put(url, json=bad, headers=agent.headers)
        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
    assert (await harness.client.get(url, headers=agent.headers)).json() == defaults
    saved = await harness.client.put(url, json=wanted, headers=agent.headers)
    assert saved.status_code == 200 and saved.json() == wanted
    assert (await harness.client.get(url, headers=agent.headers)).json() == wanted
    ticket_id = await _open(harness, requester, await _category_with(harness, admin, agent))
    await _comment(harness, requester, ticket_id, "anyone there?")
    assert [n["kind"] for n in await _inbox(harness, agent)] == ["assigned"]


async def test_watchers_api_and_events(harness: Harness, admin: User, agent: User, requester: User) -> None:
    ticket_id = await _open(harness, requester)
    url = f"/api/tickets/{ticket_id}/watchers"
    assert (await harness.client.post(url, json={"user_id": agent.id}, headers=requester.headers)).status_code == 403
    # Issue 22: a requester is not told whether an address has an account (tests/integration/test_watchers_privacy.py).
    assert (
        await harness.client.post(url, json={"email": "nobody@example.com"}, headers=requester.headers)
    ).status_code == 201
    assert (await harness.client.post(url, json={}, headers=agent.headers)).status_code == 422
    assert (await harness.client.post(url, json={"email": agent.email}, headers=requester.headers)).status_code == 201
    assert (await harness.client.post(url, json={"user_id": admin.id}, headers=agent.headers)).status_code == 201
    listed = (await harness.client.get(url, headers=requester.headers)).json()
    # Issue 22: the address without an account became one, and staff's own watchers are not the requester's.
    assert [w["email"] for w in listed] == ["nobody@example.com", agent.email]
    nobody = int(listed[0]["user_id"])
    staff_view = (await harness.client.get(url, headers=agent.headers)).json()
    assert [w["user_id"] for w in staff_view] == [nobody, agent.id, admin.id]
    other = await harness.user("requester")
    assert (await harness.client.get(url, headers=other.headers)).status_code == 404
    assert (await harness.client.post(url, json={"email": other.email}, headers=other.headers)).status_code == 404
    assert (await harness.client.delete(f"{url}/{agent.id}", headers=agent.headers)).status_code == 204
    assert (await harness.client.delete(f"{url}/{agent.id}", headers=agent.headers)).status_code == 404
    await harness.settle()
    types = [e["type"] for e in await harness.events(aggregate_id=str(ticket_id)) if "watcher" in e["type"]]
    assert types == ["ticket.watcher_added"] * 3 + ["ticket.watcher_removed"]
