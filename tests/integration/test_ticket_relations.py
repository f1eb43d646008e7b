"""Merge, split and link, in both modes: a merge moves the source's conversation, files and watchers to the survivor
(each an event), leaves the source a closed pointer that refuses writes and leaves the reports; a split opens a
ticket from a comment, linked to its origin; links read from both sides, requesters see only links to tickets they
may see, and with the admins' option an open child keeps its parent from closing."""

from __future__ import annotations

from typing import Any

from tests.conftest import Harness, User
from tests.search_helpers import ids as search_ids


async def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def _open(h: Harness, requester: User, title: str) -> dict[str, Any]:
    body = {"title": title, "description": f"{title}, since this morning"}
    return dict(await _ok(await h.client.post("/api/tickets", json=body, headers=requester.headers), 201))


async def _comment(h: Harness, user: User, ticket_id: int, body: str, **extra: Any) -> dict[str, Any]:
    url = f"/api/tickets/{ticket_id}/comments"
    return dict(await _ok(await h.client.post(url, json={"body": body, **extra}, headers=user.headers), 201))


async def _types(h: Harness, user: User, ticket_id: int) -> list[str]:
    return [e["type"] for e in await _ok(await h.client.get(f"/api/tickets/{ticket_id}/events", headers=user.headers))]


async def test_merge_moves_the_conversation_and_leaves_a_read_only_pointer(
    harness: Harness, admin: User, agent: User, requester: User
) -> None:
    h = harness
    a = await _open(h, requester, "VPN outage")
    b = await _open(h, requester, "VPN down again")
    note = await _comment(h, agent, b["id"], "checking the concentrator", internal=True)
    reply = await _comment(h, requester, b["id"], "still down here")
    watcher = await h.user("agent")
    await _ok(
        await h.client.post(f"/api/tickets/{b['id']}/watchers", json={"user_id": watcher.id}, headers=agent.headers),
        201,
    )
    counted = await _ok(await h.client.get("/api/reports/summary", headers=admin.headers))
    survivor = await _ok(
        await h.client.post(f"/api/tickets/{b['id']}/merge", json={"into": a["id"]}, headers=agent.headers)
    )
    assert survivor["id"] == a["id"] and survivor["merged_into"] is None
    pointer = await _ok(await h.client.get(f"/api/tickets/{b['id']}", headers=requester.headers))
    assert pointer["merged_into"] == a["id"] and pointer["status"] == "closed"
    moved = await _ok(await h.client.get(f"/api/tickets/{a['id']}/comments", headers=agent.headers))
    assert [c["id"] for c in moved[:2]] == [note["id"], reply["id"]]
    assert moved[2]["internal"] and moved[2]["body"].startswith(f"Merged from #{b['id']} “VPN down again”:")
    assert moved[2]["body"].endswith("VPN down again, since this morning")
    assert await _ok(await h.client.get(f"/api/tickets/{b['id']}/comments", headers=agent.headers)) == []
    assert await search_ids(h, agent, "concentrator") == [a["id"]]  # the search index followed the move
    assert await search_ids(h, requester, "still down here") == [a["id"]]
    watching = await _ok(await h.client.get(f"/api/tickets/{a['id']}/watchers", headers=agent.headers))
    assert [w["user_id"] for w in watching] == [watcher.id]  # B's requester is A's: not a watcher of their own
    a_types = await _types(h, agent, a["id"])
    assert a_types.count("ticket.comment_moved") == 2 and "ticket.watcher_added" in a_types
    assert a_types[-2:] == ["ticket.merged", "ticket.commented"]  # then the source's request as a note
    b_types = await _types(h, agent, b["id"])
    assert {"ticket.merged", "ticket.status_changed", "ticket.closed", "ticket.watcher_removed"} <= set(b_types)
    # Writes on the pointer: a clear 409 naming the survivor, and nothing changes.
    for refused in (
        await h.client.post(f"/api/tickets/{b['id']}/comments", json={"body": "hello?"}, headers=requester.headers),
        await h.client.patch(
            f"/api/tickets/{b['id']}", json={"priority": "high", "version": pointer["version"]}, headers=agent.headers
        ),
        await h.client.post(f"/api/tickets/{b['id']}/transition", json={"status": "open"}, headers=agent.headers),
        await h.client.post(f"/api/tickets/{b['id']}/merge", json={"into": a["id"]}, headers=agent.headers),
        await h.client.post(
            f"/api/tickets/{b['id']}/links", json={"ticket_id": a["id"], "kind": "related"}, headers=agent.headers
        ),
    ):
        assert refused.status_code == 409 and f"#{a['id']}" in refused.json()["detail"], refused.text
    assert await _ok(await h.client.get(f"/api/tickets/{b['id']}", headers=agent.headers)) == pointer | {"tags": []}
    # The survivor as it stood right after the merge (time travel on its page) holds the moved conversation.
    timeline = await _ok(await h.client.get(f"/api/tickets/{a['id']}/events", headers=agent.headers))
    merged_at = next(e["event_id"] for e in timeline if e["type"] == "ticket.merged")
    cookie = {"Cookie": f"nixflow_session={agent.token}"}
    then = await h.client.get(f"/tickets/{a['id']}", params={"as_of": merged_at}, headers=cookie)
    assert then.status_code == 200 and "still down here" in then.text and "checking the concentrator" in then.text
    # The requester's timeline of the survivor shows none of the staff bookkeeping.
    assert set(await _types(h, requester, a["id"])) <= {"ticket.created", "ticket.commented", "ticket.status_changed"}
    # Reports count the outage once: the merged ticket leaves the figures.
    after = await _ok(await h.client.get("/api/reports/summary", headers=admin.headers))
    assert (counted["tickets_created"], counted["backlog_at_end"]) == (2, 2)
    assert (after["tickets_created"], after["backlog_at_end"]) == (1, 1)
    await _bad_merges_are_refused_and_change_nothing(h, agent, requester)


async def _bad_merges_are_refused_and_change_nothing(h: Harness, agent: User, requester: User) -> None:
    a = await _open(h, requester, "Printer jam")
    b = await _open(h, requester, "Printer jam on floor 3")
    before = await _ok(await h.client.get(f"/api/tickets/{b['id']}", headers=agent.headers))
    url = f"/api/tickets/{b['id']}/merge"
    assert (await h.client.post(url, json={"into": a["id"]}, headers=requester.headers)).status_code == 403
    assert (await h.client.post(url, json={"into": b["id"]}, headers=agent.headers)).status_code == 409
    assert (await h.client.post(url, json={"into": 999999}, headers=agent.headers)).status_code == 404
    assert (await h.client.post(url, json={"into": a["id"], "version": 99}, headers=agent.headers)).status_code == 409
    assert (await h.client.post(url, json={"into": "x"}, headers=agent.headers)).status_code == 422
    assert await _ok(await h.client.get(f"/api/tickets/{b['id']}", headers=agent.headers)) == before
    assert await _types(h, agent, b["id"]) == ["ticket.created"]


async def _split_opens_a_linked_ticket_from_a_comment(h: Harness, agent: User, requester: User) -> None:
    origin = await _open(h, requester, "Laptop slow")
    other = await _open(h, requester, "Someone else's")
    comment = await _comment(h, requester, origin["id"], "Also: my badge stopped working\nat the door")
    url = f"/api/tickets/{origin['id']}/split"
    assert (await h.client.post(url, json={"comment_id": 999999}, headers=agent.headers)).status_code == 404
    foreign = await _comment(h, agent, other["id"], "not this one")
    assert (await h.client.post(url, json={"comment_id": foreign["id"]}, headers=agent.headers)).status_code == 404
    made = await _ok(await h.client.post(url, json={"comment_id": comment["id"]}, headers=agent.headers), 201)
    assert made["title"] == f"Split from #{origin['id']}: Also: my badge stopped working"
    assert made["description"] == comment["body"] and made["requester_id"] == requester.id
    links = await _ok(await h.client.get(f"/api/tickets/{made['id']}/links", headers=requester.headers))
    assert [(lk["kind"], lk["ticket_id"]) for lk in links] == [("related", origin["id"])]
    assert "ticket.split" in await _types(h, agent, origin["id"])


async def test_links_split_and_the_parent_option(harness: Harness, admin: User, agent: User, requester: User) -> None:
    h = harness
    await _links_from_both_sides_and_what_requesters_see(h, agent, requester)
    await _split_opens_a_linked_ticket_from_a_comment(h, agent, requester)
    await _an_open_child_blocks_closing_its_parent_when_the_option_is_on(h, admin, agent, requester)


async def _links_from_both_sides_and_what_requesters_see(h: Harness, agent: User, requester: User) -> None:
    parent = await _open(h, requester, "Office move")
    child = await _open(h, requester, "Move my desk phone")
    stranger = await h.user("requester")
    theirs = await _open(h, stranger, "Their own problem")
    url = f"/api/tickets/{parent['id']}/links"
    made = await _ok(
        await h.client.post(url, json={"ticket_id": child["id"], "kind": "child"}, headers=agent.headers), 201
    )
    again = await _ok(
        await h.client.post(url, json={"ticket_id": child["id"], "kind": "child"}, headers=agent.headers), 201
    )
    assert again == made  # already there: the same link, no second event
    await _ok(await h.client.post(url, json={"ticket_id": theirs["id"], "kind": "related"}, headers=agent.headers), 201)
    seen_by_child = await _ok(await h.client.get(f"/api/tickets/{child['id']}/links", headers=agent.headers))
    assert [(lk["kind"], lk["ticket_id"]) for lk in seen_by_child] == [("parent", parent["id"])]
    staff_view = await _ok(await h.client.get(url, headers=agent.headers))
    assert [lk["ticket_id"] for lk in staff_view] == [child["id"], theirs["id"]]
    mine = await _ok(await h.client.get(url, headers=requester.headers))
    assert [lk["ticket_id"] for lk in mine] == [child["id"]]  # not the stranger's ticket
    assert (await h.client.get(url, headers=stranger.headers)).status_code == 404
    # A cycle and a link to itself are conflicts (valid input the tickets refuse); a requester's link is refused.
    cycle = {"ticket_id": parent["id"], "kind": "child"}
    assert (
        await h.client.post(f"/api/tickets/{child['id']}/links", json=cycle, headers=agent.headers)
    ).status_code == 409
    itself = {"ticket_id": parent["id"], "kind": "related"}
    assert (await h.client.post(url, json=itself, headers=agent.headers)).status_code == 409
    assert (
        await h.client.post(url, json={"ticket_id": child["id"], "kind": "related"}, headers=requester.headers)
    ).status_code == 403
    assert (await _types(h, agent, child["id"])).count("ticket.linked") == 1
    gone = await h.client.delete(url, params={"ticket_id": theirs["id"]}, headers=agent.headers)
    assert gone.status_code == 204
    assert (await h.client.delete(url, params={"ticket_id": theirs["id"]}, headers=agent.headers)).status_code == 404
    assert "ticket.unlinked" in await _types(h, agent, theirs["id"])


async def _an_open_child_blocks_closing_its_parent_when_the_option_is_on(
    h: Harness, admin: User, agent: User, requester: User
) -> None:
    parent = await _open(h, requester, "Onboard the new team")
    child = await _open(h, requester, "Laptop for Ana")
    link = {"ticket_id": child["id"], "kind": "child"}
    await _ok(await h.client.post(f"/api/tickets/{parent['id']}/links", json=link, headers=agent.headers), 201)
    resolve = {"status": "resolved"}
    assert (
        await h.client.put("/api/links/options", json={"block_parent_close": True}, headers=agent.headers)
    ).status_code == 403
    await _ok(await h.client.put("/api/links/options", json={"block_parent_close": True}, headers=admin.headers))
    refused = await h.client.post(f"/api/tickets/{parent['id']}/transition", json=resolve, headers=agent.headers)
    assert refused.status_code == 409 and f"#{child['id']}" in refused.json()["detail"]
    assert (await _ok(await h.client.get(f"/api/tickets/{parent['id']}", headers=agent.headers)))["status"] == "new"
    await _ok(await h.client.post(f"/api/tickets/{child['id']}/transition", json=resolve, headers=agent.headers))
    done = await _ok(
        await h.client.post(f"/api/tickets/{parent['id']}/transition", json=resolve, headers=agent.headers)
    )
    assert done["status"] == "resolved"
