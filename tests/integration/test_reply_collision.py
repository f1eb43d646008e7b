"""Collision on reply, in both modes: a reply begun before someone else's public comment arrived is refused with 409
`Stale version`, the new comments in `errors`, and changes nothing; sent again having seen them, it goes through.
Internal notes and the writer's own comments are no collision; a requester learns nothing of others' tickets."""

from __future__ import annotations

from typing import Any

from tests.conftest import Harness, User


async def _ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


async def _comment(h: Harness, user: User, ticket_id: int, **body: Any) -> Any:
    return await h.client.post(f"/api/tickets/{ticket_id}/comments", json=body, headers=user.headers)


async def _state(h: Harness, agent: User, ticket_id: int) -> tuple[int, list[int]]:
    ticket = await _ok(await h.client.get(f"/api/tickets/{ticket_id}", headers=agent.headers))
    comments = await h.client.get(f"/api/tickets/{ticket_id}/comments", headers=agent.headers)
    return ticket["version"], [c["id"] for c in comments.json()]


async def test_a_reply_that_missed_a_public_comment_is_shown_it_first(
    harness: Harness, agent: User, requester: User
) -> None:
    h = harness
    colleague = await h.user("agent", name="Cora Colleague")
    created = await h.client.post("/api/tickets", json={"title": "VPN drops"}, headers=requester.headers)
    ticket_id = (await _ok(created, 201))["id"]
    first = await _ok(await _comment(h, requester, ticket_id, body="It drops every hour."), 201)
    # The agent's page shows `first`; meanwhile an internal note, the agent's own note and a public reply arrive.
    await _ok(await _comment(h, colleague, ticket_id, body="Known issue?", internal=True), 201)
    await _ok(await _comment(h, agent, ticket_id, body="Looking.", internal=True), 201)
    arrived = await _ok(await _comment(h, colleague, ticket_id, body="Try the **new** profile."), 201)
    version, before = await _state(h, agent, ticket_id)

    reply = {"body": "Please reinstall the client.", "seen_comment_id": first["id"]}
    refused = await h.client.post(
        f"/api/tickets/{ticket_id}/update", json={"version": version, "comment": reply}, headers=agent.headers
    )
    assert refused.status_code == 409, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    problem = refused.json()
    assert problem["title"] == "Stale version" and "1 new comment" in problem["detail"]
    (change,) = problem["errors"]  # only the public comment by someone else
    assert change["type"] == "new_comment"
    assert {k: change["comment"][k] for k in ("id", "author_id", "author_name", "body")} == {
        "id": arrived["id"],
        "author_id": colleague.id,
        "author_name": "Cora Colleague",
        "body": "Try the **new** profile.",
    }
    assert await _state(h, agent, ticket_id) == (version, before)  # nothing written

    plain = await _comment(h, agent, ticket_id, **reply)  # the plain comment route asks the same
    assert plain.status_code == 409 and plain.json()["errors"][0]["comment"]["id"] == arrived["id"]
    assert await _state(h, agent, ticket_id) == (version, before)

    # "Send anyway": the writer has now seen the new comment.
    again = {"version": version, "comment": {**reply, "seen_comment_id": arrived["id"]}}
    sent = await _ok(await h.client.post(f"/api/tickets/{ticket_id}/update", json=again, headers=agent.headers))
    assert sent["comment"]["body"] == "Please reinstall the client."
    # The writer's own new reply is no collision for the writer's next one.
    mine = {"body": "And restart.", "seen_comment_id": arrived["id"]}
    await _ok(await _comment(h, agent, ticket_id, **mine), 201)

    # The requester is asked the same; another requester learns nothing (404, as for any ticket not theirs).
    late = await _comment(h, requester, ticket_id, body="Still drops.", seen_comment_id=first["id"])
    assert late.status_code == 409, late.text
    assert [c["comment"]["author_id"] for c in late.json()["errors"]] == [colleague.id, agent.id, agent.id]
    stranger = await h.user("requester")
    hidden = await _comment(h, stranger, ticket_id, body="Me too", seen_comment_id=0)
    assert hidden.status_code == 404, hidden.text

    # A malformed seen_comment_id is a 422 naming it, and changes nothing.
    unchanged = await _state(h, agent, ticket_id)
    for bad in ("3", -1, 1.5, True, 2**70):
        refused = await _comment(h, agent, ticket_id, body="Hello", seen_comment_id=bad)
        assert refused.status_code == 422, (bad, refused.text)
        assert refused.json()["errors"][0]["loc"][-1] == "seen_comment_id"
    assert await _state(h, agent, ticket_id) == unchanged
