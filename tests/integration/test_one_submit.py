"""One submit (`POST /api/tickets/{id}/update`), in both modes: a reply plus fields and status is one unit of work,
its events share one correlation id, and any refusal (stale version, illegal move, a requester setting fields)
leaves the ticket, its comments and its timeline as they were."""

from __future__ import annotations

from typing import Any

from tests.conftest import Harness, User


async def _ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


async def _open(h: Harness, requester: User) -> dict[str, Any]:
    return await _ok(await h.client.post("/api/tickets", json={"title": "VPN drops"}, headers=requester.headers), 201)


async def _submit(h: Harness, user: User, ticket_id: int, **body: Any) -> Any:
    return await h.client.post(f"/api/tickets/{ticket_id}/update", json=body, headers=user.headers)


async def _state(h: Harness, agent: User, ticket_id: int) -> tuple[dict[str, Any], list[Any], list[Any]]:
    """The ticket, its comments and its timeline, as an agent sees them."""
    base = f"/api/tickets/{ticket_id}"
    ticket = await _ok(await h.client.get(base, headers=agent.headers))
    comments = (await h.client.get(f"{base}/comments", headers=agent.headers)).json()
    timeline = (await h.client.get(f"{base}/events", headers=agent.headers)).json()
    return ticket, comments, timeline


async def test_reply_and_resolve_is_one_request_one_correlation(harness: Harness, agent: User, requester: User) -> None:
    h = harness
    ticket = await _open(h, requester)
    answer = await _ok(
        await _submit(
            h,
            agent,
            ticket["id"],
            version=ticket["version"],
            comment={"body": "Reinstalled the client; fixed."},
            priority="high",
            assignee_id=agent.id,
            status="resolved",
        )
    )
    assert answer["ticket"]["status"] == "resolved" and answer["ticket"]["priority"] == "high"
    assert answer["ticket"]["assignee_id"] == agent.id
    assert answer["comment"]["body"] == "Reinstalled the client; fixed." and answer["comment"]["internal"] is False
    shown, comments, timeline = await _state(h, agent, ticket["id"])
    assert shown == answer["ticket"]  # the answer is the ticket as committed
    assert [c["id"] for c in comments] == [answer["comment"]["id"]]
    made = [e for e in timeline if e["type"] != "ticket.created"]
    # The staff reply opened the new ticket, then the fields, then the explicit move to resolved.
    moves = [(e["data"]["old_status"], e["data"]["new_status"]) for e in made if e["type"] == "ticket.status_changed"]
    assert moves == [("new", "open"), ("open", "resolved")]
    types = {e["type"] for e in made}
    assert {"ticket.commented", "ticket.priority_changed", "ticket.assigned", "ticket.resolved"} <= types
    [created] = [e for e in timeline if e["type"] == "ticket.created"]
    correlations = {e["metadata"]["correlation_id"] for e in made}
    assert len(correlations) == 1 and correlations != {created["metadata"]["correlation_id"]}


async def test_no_conflict_when_the_reply_already_moved_the_ticket_there(
    harness: Harness, agent: User, requester: User
) -> None:
    h = harness
    ticket = await _open(h, requester)
    answer = await _ok(await _submit(h, agent, ticket["id"], comment={"body": "Looking"}, status="open"))
    assert answer["ticket"]["status"] == "open"
    _, _, timeline = await _state(h, agent, ticket["id"])
    assert [e["type"] for e in timeline].count("ticket.status_changed") == 1


async def _refused(h: Harness, agent: User, user: User, ticket_id: int, code: int, **body: Any) -> None:
    before = await _state(h, agent, ticket_id)
    response = await _submit(h, user, ticket_id, **body)
    assert response.status_code == code, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert await _state(h, agent, ticket_id) == before


async def test_a_stale_version_changes_nothing(harness: Harness, agent: User, requester: User) -> None:
    h = harness
    ticket = await _open(h, requester)
    await _ok(await _submit(h, agent, ticket["id"], priority="low"))  # the version moves on
    body = {"version": ticket["version"], "comment": {"body": "Done"}, "status": "resolved", "priority": "high"}
    await _refused(h, agent, agent, ticket["id"], 409, **body)


async def test_an_illegal_move_changes_nothing_not_even_the_comment(
    harness: Harness, agent: User, requester: User
) -> None:
    h = harness
    ticket = await _open(h, requester)
    # An internal note leaves the ticket new, and new → pending is not a move the workflow allows.
    body = {"comment": {"body": "Waiting on the vendor", "internal": True}, "priority": "high", "status": "pending"}
    await _refused(h, agent, agent, ticket["id"], 409, **body)
    await _refused(h, agent, agent, ticket["id"], 409, assignee_id=requester.id, comment={"body": "Mine now"})


async def test_a_requester_comments_but_sets_no_fields(harness: Harness, agent: User, requester: User) -> None:
    h = harness
    ticket = await _open(h, requester)
    await _refused(h, agent, requester, ticket["id"], 403, comment={"body": "Urgent!"}, priority="critical")
    await _refused(h, agent, requester, ticket["id"], 403, comment={"body": "Fixed myself"}, status="resolved")
    await _refused(h, agent, requester, ticket["id"], 403, comment={"body": "Secret", "internal": True})
    other = await h.user("requester")
    await _refused(h, agent, other, ticket["id"], 404, comment={"body": "Not mine"})
    # What a requester may do on their own ticket: comment, and edit its title and description.
    body = {"comment": {"body": "Still dropping"}, "description": "Since Monday, on floor 2"}
    answer = await _ok(await _submit(h, requester, ticket["id"], **body))
    assert answer["comment"]["author_id"] == requester.id and answer["ticket"]["status"] == "new"
    assert answer["ticket"]["description"] == "Since Monday, on floor 2"
