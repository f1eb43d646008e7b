"""A reply moves the ticket as a helpdesk's does, in both modes: the requester's answer puts a pending or resolved
ticket back to open (caused by the comment, which the requester may write though they may not move the ticket);
staff's public reply opens a new ticket; any open state is resolved in one step. A write answers with what it
committed, automation included."""

from __future__ import annotations

from typing import Any

from tests.conftest import PASSWORD, Harness, User


async def _ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


async def _open(h: Harness, requester: User, title: str = "Printer jams") -> dict[str, Any]:
    return await _ok(await h.client.post("/api/tickets", json={"title": title}, headers=requester.headers), 201)


async def _say(h: Harness, user: User | dict[str, str], ticket_id: int, body: str, **extra: Any) -> dict[str, Any]:
    headers = user.headers if isinstance(user, User) else user
    url = f"/api/tickets/{ticket_id}/comments"
    return await _ok(await h.client.post(url, json={"body": body, **extra}, headers=headers), 201)


async def _move(h: Harness, user: User, ticket_id: int, status: str) -> dict[str, Any]:
    url = f"/api/tickets/{ticket_id}/transition"
    return await _ok(await h.client.post(url, json={"status": status}, headers=user.headers))


async def _get(h: Harness, user: User, ticket_id: int) -> dict[str, Any]:
    return await _ok(await h.client.get(f"/api/tickets/{ticket_id}", headers=user.headers))


async def _web(h: Harness, user: User) -> dict[str, str]:
    """The headers of a signed-in browser: the session cookie and the CSRF token it echoes."""
    signed_in = await h.client.post("/api/auth/login", json={"email": user.email, "password": PASSWORD})
    assert signed_in.status_code == 200, signed_in.text
    session, csrf = signed_in.cookies["nixflow_session"], signed_in.cookies["nixflow_csrf"]
    h.client.cookies.clear()  # the shared client stays anonymous: each call says who it is
    return {"Cookie": f"nixflow_session={session}; nixflow_csrf={csrf}", "X-CSRF-Token": csrf}


async def test_staff_reply_opens_a_new_ticket_an_internal_note_does_not(
    harness: Harness, agent: User, requester: User
) -> None:
    h = harness
    ticket = await _open(h, requester)
    await _say(h, agent, ticket["id"], "checking the tray", internal=True)
    assert (await _get(h, agent, ticket["id"]))["status"] == "new"
    await _say(h, requester, ticket["id"], "any news?")  # the requester's own comment leaves it new
    assert (await _get(h, agent, ticket["id"]))["status"] == "new"
    said = await _say(h, agent, ticket["id"], "On it")
    assert (await _get(h, agent, ticket["id"]))["status"] == "open"
    [changed] = await h.events(type="ticket.status_changed", aggregate_id=str(ticket["id"]))
    [commented] = [e for e in await h.events(type="ticket.commented") if e["data"]["comment_id"] == said["id"]]
    assert changed["data"]["old_status"] == "new" and changed["data"]["new_status"] == "open"
    assert changed["metadata"]["causation_id"] == commented["event_id"]
    assert changed["metadata"]["actor_id"] == agent.id


async def test_a_requesters_web_comment_reopens_a_resolved_ticket(
    harness: Harness, agent: User, requester: User
) -> None:
    h = harness
    ticket = await _open(h, requester)
    for status in ("open", "resolved"):  # step by step: the test fails on the stiffer workflow for its own reason
        await _move(h, agent, ticket["id"], status)
    said = await _say(h, await _web(h, requester), ticket["id"], "It jams again")
    assert said["source"] == "web"
    shown = await _get(h, agent, ticket["id"])
    assert shown["status"] == "open"
    queue = await _ok(await h.client.get("/api/tickets?status=open", headers=agent.headers))
    assert ticket["id"] in [t["id"] for t in queue["items"]]  # back in the agents' open queue
    [reopened] = await h.events(type="ticket.reopened", aggregate_id=str(ticket["id"]))
    [commented] = [e for e in await h.events(type="ticket.commented") if e["data"]["comment_id"] == said["id"]]
    assert reopened["metadata"]["causation_id"] == commented["event_id"]
    assert reopened["data"]["by_id"] == requester.id and reopened["metadata"]["actor_id"] == requester.id


async def test_a_requesters_reply_to_a_pending_ticket_opens_it_and_the_clock_runs_again(
    harness: Harness, agent: User, requester: User
) -> None:
    h = harness
    ticket = await _open(h, requester)
    await _move(h, agent, ticket["id"], "open")
    paused = await _move(h, agent, ticket["id"], "pending")
    assert paused["sla"]["paused"] is True
    await _say(h, agent, ticket["id"], "Still waiting for you")  # staff's reply leaves it pending
    assert (await _get(h, agent, ticket["id"]))["status"] == "pending"
    said = await _say(h, await _web(h, requester), ticket["id"], "The one on floor 2")
    shown = await _get(h, agent, ticket["id"])
    assert shown["status"] == "open" and shown["sla"]["paused"] is False
    [resumed] = await h.events(type="sla.resumed", aggregate_id=str(ticket["id"]))
    [commented] = [e for e in await h.events(type="ticket.commented") if e["data"]["comment_id"] == said["id"]]
    assert resumed["metadata"]["causation_id"] == commented["event_id"]


async def test_any_open_state_is_resolved_in_one_step(harness: Harness, agent: User, requester: User) -> None:
    h = harness
    fresh = await _open(h, requester)
    assert (await _move(h, agent, fresh["id"], "resolved"))["status"] == "resolved"  # new -> resolved
    waiting = await _open(h, requester)
    await _say(h, agent, waiting["id"], "Which printer?")
    await _move(h, agent, waiting["id"], "pending")
    resolved = await _move(h, agent, waiting["id"], "resolved")  # pending -> resolved
    assert resolved["status"] == "resolved" and resolved["sla"]["paused"] is False
    refused = await h.client.post(
        f"/api/tickets/{waiting['id']}/transition", json={"status": "pending"}, headers=agent.headers
    )
    assert refused.status_code == 409  # resolved -> pending is still not a move


async def test_a_write_answers_with_the_ticket_its_automation_left(
    harness: Harness, agent: User, requester: User
) -> None:
    h = harness
    made = await h.client.post(
        "/api/tickets", json={"title": "Mail server is down", "description": "since 9"}, headers=requester.headers
    )
    created = await _ok(made, 201)
    stored = await _get(h, agent, created["id"])
    assert created["priority"] == stored["priority"] == "critical"  # the outage rule ran in the same unit
    assert created["version"] == stored["version"] > 1 and created["sla"] == stored["sla"]
    patched = await h.client.patch(
        f"/api/tickets/{created['id']}", json={"version": created["version"], "priority": "high"}, headers=agent.headers
    )
    assert patched.status_code == 200, patched.text  # the answer's version is the current one: no 409

    calm = await _open(h, requester, "Question about the printer")
    edited = await h.client.patch(
        f"/api/tickets/{calm['id']}",
        json={"version": calm["version"], "description": "now the whole office is down"},
        headers=requester.headers,
    )
    answer = await _ok(edited)
    assert answer["priority"] == "critical" and answer == await _get(h, requester, calm["id"])
