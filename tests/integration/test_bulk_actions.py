"""Bulk actions, in both modes: one request changes many tickets, each its own unit of work with its own result (a
stale one 409, a missing one 404, a refused move 409, the others applied); bad actions refuse the whole request
and change nothing; every event of the request shares its correlation id; "select all matching" lists the ids."""

from __future__ import annotations

from typing import Any

from tests.conftest import Harness, User


async def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def _open(h: Harness, requester: User, title: str) -> dict[str, Any]:
    return dict(await _ok(await h.client.post("/api/tickets", json={"title": title}, headers=requester.headers), 201))


async def _opened(h: Harness, requester: User, agent: User, title: str) -> dict[str, Any]:
    ticket = await _open(h, requester, title)
    move = {"status": "open"}
    return dict(
        await _ok(await h.client.post(f"/api/tickets/{ticket['id']}/transition", json=move, headers=agent.headers))
    )


async def _bulk(h: Harness, user: User, body: dict[str, Any], **headers: str) -> Any:
    return await h.client.post("/api/tickets/bulk", json=body, headers={**user.headers, **headers})


async def _get(h: Harness, agent: User, ticket_id: int) -> dict[str, Any]:
    return dict(await _ok(await h.client.get(f"/api/tickets/{ticket_id}", headers=agent.headers)))


async def test_each_ticket_has_its_result_and_the_others_are_applied(
    harness: Harness, agent: User, requester: User
) -> None:
    h = harness
    fresh, stale, other = [await _opened(h, requester, agent, f"Printer {i}") for i in range(3)]
    brand_new = await _open(h, requester, "Not opened yet")  # new → pending is not a move NixFlow allows
    await _ok(
        await h.client.patch(
            f"/api/tickets/{stale['id']}", json={"priority": "low", "version": stale["version"]}, headers=agent.headers
        )
    )
    missing = 10**9
    body = {
        "ticket_ids": [fresh["id"], stale["id"], missing, brand_new["id"], other["id"]],
        "actions": {"status": "pending", "priority": "high", "add_tags": ["Printer"]},
        "expected_versions": {str(stale["id"]): stale["version"], str(fresh["id"]): fresh["version"]},
    }
    answer = await _ok(await _bulk(h, agent, body))
    by_id = {r["ticket_id"]: r for r in answer["results"]}
    assert [r["ticket_id"] for r in answer["results"]] == body["ticket_ids"]
    assert (answer["applied"], answer["failed"]) == (2, 3)
    assert by_id[stale["id"]]["error"]["status"] == 409 and by_id[stale["id"]]["error"]["title"] == "Stale version"
    assert by_id[missing]["error"]["status"] == 404
    assert by_id[brand_new["id"]]["error"]["title"] == "Illegal status transition"
    for applied in (fresh, other):
        now = await _get(h, agent, applied["id"])
        assert by_id[applied["id"]] == {
            "ticket_id": applied["id"],
            "ok": True,
            "version": now["version"],
            "error": None,
        }
        assert (now["status"], now["priority"], now["tags"]) == ("pending", "high", ["printer"])
    untouched = await _get(h, agent, stale["id"])
    assert (untouched["status"], untouched["priority"], untouched["tags"]) == ("open", "low", [])
    # The refused move undid its whole unit: no priority, no tag on that ticket either.
    assert (await _get(h, agent, brand_new["id"]))["tags"] == []


async def test_events_of_one_request_share_its_correlation_id(harness: Harness, agent: User, requester: User) -> None:
    h = harness
    tickets = [await _opened(h, requester, agent, f"VPN {i}") for i in range(3)]
    body = {"ticket_ids": [t["id"] for t in tickets], "actions": {"add_tags": ["vpn"], "assignee_id": agent.id}}
    await _ok(await _bulk(h, agent, body, **{"X-Correlation-ID": "bulk-vpn-1"}))
    events = await h.events(correlation_id="bulk-vpn-1")
    made = {(e["type"], e["aggregate_id"]) for e in events}
    for t in tickets:
        assert {("ticket.tagged", str(t["id"])), ("ticket.assigned", str(t["id"]))} <= made
    removed = {"ticket_ids": [tickets[0]["id"]], "actions": {"remove_tags": ["VPN"]}}
    await _ok(await _bulk(h, agent, removed))
    assert (await _get(h, agent, tickets[0]["id"]))["tags"] == []


async def test_bad_actions_refuse_the_whole_request_and_change_nothing(
    harness: Harness, admin: User, agent: User, requester: User
) -> None:
    h = harness
    tickets = [await _opened(h, requester, agent, f"Mail {i}") for i in range(2)]
    ids = [t["id"] for t in tickets]
    before = [await _get(h, agent, i) for i in ids]
    await _ok(await h.client.put("/api/tags/allowed", json={"tags": ["mail"]}, headers=admin.headers))
    refused = [
        {"ticket_ids": ids, "actions": {"status": "sleeping"}},
        {"ticket_ids": ids, "actions": {}},
        {"ticket_ids": ids, "actions": {"add_tags": ["mail", "wifi"]}},
        {"ticket_ids": ids, "actions": {"add_tags": ["two words"]}},
        {"ticket_ids": ids, "actions": {"priority": "high", "macro_id": 10**9}},  # no such macro
        {"ticket_ids": [], "actions": {"priority": "high"}},
    ]
    for body in refused:
        answer = await _bulk(h, agent, body)
        assert answer.status_code == 422, (body, answer.text)
    assert "wifi" in (await _bulk(h, agent, refused[2])).json()["detail"]
    assert [await _get(h, agent, i) for i in ids] == before
    assert (await _bulk(h, requester, {"ticket_ids": ids, "actions": {"priority": "high"}})).status_code == 403
    assert [await _get(h, agent, i) for i in ids] == before


async def test_ids_of_all_matching_tickets(harness: Harness, agent: User, requester: User) -> None:
    h = harness
    tickets = [await _opened(h, requester, agent, f"Disk {i}") for i in range(3)]
    await _open(h, requester, "Something else")
    await _ok(await _bulk(h, agent, {"ticket_ids": [t["id"] for t in tickets[:2]], "actions": {"add_tags": ["disk"]}}))
    tagged = await _ok(await h.client.get("/api/tickets/ids?tag=disk", headers=agent.headers))
    assert tagged == {"ids": [tickets[1]["id"], tickets[0]["id"]], "total": 2}
    capped = await _ok(await h.client.get("/api/tickets/ids?q=Disk&limit=2", headers=agent.headers))
    assert capped == {"ids": [tickets[2]["id"], tickets[1]["id"]], "total": 3}
    assert (await h.client.get("/api/tickets/ids", headers=requester.headers)).status_code == 403


async def test_a_macro_applied_in_bulk_fills_each_requester_and_changes_each_ticket(
    harness: Harness, admin: User, agent: User
) -> None:
    h = harness
    ann, bob = await h.user("requester", name="Ann Archer"), await h.user("requester", name="Bob Baker")
    tickets = [await _opened(h, ann, agent, "VPN drops"), await _opened(h, bob, agent, "VPN slow")]
    macro = {
        "name": "VPN known issue",
        "scope": "everyone",
        "body": "Hello {{ requester.name }}, we know about the VPN problem.",
        "actions": {"add_tags": ["vpn"], "assignee_id": agent.id, "status": "pending"},
    }
    made = await _ok(await h.client.post("/api/macros", json=macro, headers=admin.headers), 201)
    body = {"ticket_ids": [t["id"] for t in tickets], "actions": {"priority": "high", "macro_id": made["id"]}}
    answer = await _ok(await _bulk(h, agent, body))
    assert (answer["applied"], answer["failed"]) == (2, 0), answer
    for ticket, name in zip(tickets, ["Ann Archer", "Bob Baker"], strict=True):
        after = await _get(h, agent, ticket["id"])
        assert (after["priority"], after["status"], after["assignee_id"], after["tags"]) == (
            "high",
            "pending",
            agent.id,
            ["vpn"],
        )
        comments = await _ok(await h.client.get(f"/api/tickets/{ticket['id']}/comments", headers=agent.headers))
        assert [c["body"] for c in comments] == [f"Hello {name}, we know about the VPN problem."]
