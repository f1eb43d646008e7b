"""Ticket tags, in both modes: staff add and remove them (normalised, idempotent, limited, on an admin's allow
list when there is one), the queue filters by them, time travel shows them as they were, and requesters see
neither the tags nor their events. A refused change leaves the ticket and its timeline as they were."""

from __future__ import annotations

from typing import Any

from tests.conftest import Harness, User


async def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def _open(h: Harness, requester: User, title: str = "VPN drops") -> dict[str, Any]:
    return dict(await _ok(await h.client.post("/api/tickets", json={"title": title}, headers=requester.headers), 201))


async def _tag(h: Harness, user: User, ticket_id: int, *tags: str, **extra: Any) -> Any:
    return await h.client.post(
        f"/api/tickets/{ticket_id}/tags", json={"tags": list(tags), **extra}, headers=user.headers
    )


async def _state(h: Harness, agent: User, ticket_id: int) -> tuple[Any, Any]:
    base = f"/api/tickets/{ticket_id}"
    return await _ok(await h.client.get(base, headers=agent.headers)), await _ok(
        await h.client.get(f"{base}/events", headers=agent.headers)
    )


async def test_add_normalises_is_idempotent_and_remove_takes_off(
    harness: Harness, agent: User, requester: User
) -> None:
    h = harness
    ticket = await _open(h, requester)
    tagged = await _ok(await _tag(h, agent, ticket["id"], " VPN ", "Floor-3", "vpn"))
    assert tagged["tags"] == ["vpn", "floor-3"] and tagged["version"] == ticket["version"] + 1
    again = await _ok(await _tag(h, agent, ticket["id"], "vpn", "FLOOR-3"))
    assert again == tagged  # nothing new: no change, no version, no event
    removed = await _ok(await h.client.delete(f"/api/tickets/{ticket['id']}/tags/VPN", headers=agent.headers))
    assert removed["tags"] == ["floor-3"]
    gone_twice = await _ok(await h.client.delete(f"/api/tickets/{ticket['id']}/tags/vpn", headers=agent.headers))
    assert gone_twice == removed
    _, timeline = await _state(h, agent, ticket["id"])
    changes = [(e["type"], e["data"]["tags"]) for e in timeline if e["type"].endswith("tagged")]
    assert changes == [("ticket.tagged", ["vpn", "floor-3"]), ("ticket.untagged", ["vpn"])]


async def test_bad_tags_are_refused_and_change_nothing(harness: Harness, agent: User, requester: User) -> None:
    h = harness
    ticket = await _open(h, requester)
    await _ok(await _tag(h, agent, ticket["id"], "vpn"))
    before = await _state(h, agent, ticket["id"])
    bad = await _tag(h, agent, ticket["id"], "printer", "two words")
    assert bad.status_code == 422 and "two words" in bad.json()["detail"]
    too_many = await _tag(h, agent, ticket["id"], *(f"t{i}" for i in range(20)))
    assert too_many.status_code == 422 and "at most 20" in too_many.json()["detail"]
    stale = await _tag(h, agent, ticket["id"], "printer", version=ticket["version"])
    assert stale.status_code == 409
    assert await _state(h, agent, ticket["id"]) == before


async def test_allow_list_refuses_unknown_tags_by_name(
    harness: Harness, admin: User, agent: User, requester: User
) -> None:
    h = harness
    ticket = await _open(h, requester)
    listed = await _ok(
        await h.client.put("/api/tags/allowed", json={"tags": ["VPN", "printer"]}, headers=admin.headers)
    )
    assert listed == {"tags": ["printer", "vpn"]}
    assert (await h.client.put("/api/tags/allowed", json={"tags": []}, headers=agent.headers)).status_code == 403
    before = await _state(h, agent, ticket["id"])
    refused = await _tag(h, agent, ticket["id"], "vpn", "wifi")
    assert refused.status_code == 422 and "wifi" in refused.json()["detail"]
    assert await _state(h, agent, ticket["id"]) == before
    assert (await _ok(await _tag(h, agent, ticket["id"], "Vpn")))["tags"] == ["vpn"]
    counts = await _ok(await h.client.get("/api/tags", headers=agent.headers))
    assert counts == [{"tag": "vpn", "count": 1}, {"tag": "printer", "count": 0}]
    await _ok(await h.client.put("/api/tags/allowed", json={"tags": []}, headers=admin.headers))
    assert (await _ok(await _tag(h, agent, ticket["id"], "wifi")))["tags"] == ["vpn", "wifi"]
    changed = await h.events(type="workflow.tag_allow_list_changed")
    assert [e["data"]["tags"] for e in changed] == [["printer", "vpn"], []]


async def test_queue_filters_by_tag(harness: Harness, agent: User, requester: User) -> None:
    h = harness
    vpn = [await _open(h, requester, f"VPN {i}") for i in range(3)]
    other = await _open(h, requester, "Printer")
    for ticket in vpn:
        await _ok(await _tag(h, agent, ticket["id"], "vpn"))
    await _ok(await _tag(h, agent, other["id"], "printer"))
    await _ok(await h.client.delete(f"/api/tickets/{vpn[1]['id']}/tags/vpn", headers=agent.headers))
    page = await _ok(await h.client.get("/api/tickets", params={"tag": "VPN"}, headers=agent.headers))
    assert [t["id"] for t in page["items"]] == [vpn[2]["id"], vpn[0]["id"]]
    assert all(t["tags"] == ["vpn"] for t in page["items"])
    none = await _ok(await h.client.get("/api/tickets", params={"tag": "wifi"}, headers=agent.headers))
    assert none["items"] == []
    assert (await h.client.get("/api/tickets", params={"tag": "vpn"}, headers=requester.headers)).status_code == 403


async def test_requester_sees_no_tag_and_no_tag_event(harness: Harness, agent: User, requester: User) -> None:
    h = harness
    ticket = await _open(h, requester)
    await _ok(await _tag(h, agent, ticket["id"], "vip"))
    mine = await _ok(await h.client.get(f"/api/tickets/{ticket['id']}", headers=requester.headers))
    assert mine["tags"] == []
    listed = await _ok(await h.client.get("/api/tickets", headers=requester.headers))
    assert [t["tags"] for t in listed["items"]] == [[]]
    timeline = await _ok(await h.client.get(f"/api/tickets/{ticket['id']}/events", headers=requester.headers))
    assert [e["type"] for e in timeline] == ["ticket.created"]
    _, staff_timeline = await _state(h, agent, ticket["id"])
    assert "ticket.tagged" in [e["type"] for e in staff_timeline]
    assert (await _tag(h, requester, ticket["id"], "mine")).status_code == 403
    assert (await h.client.get("/api/tags", headers=requester.headers)).status_code == 403


async def test_time_travel_shows_tags_as_they_were(harness: Harness, agent: User, requester: User) -> None:
    h = harness
    ticket = await _open(h, requester)
    await _ok(await _tag(h, agent, ticket["id"], "vpn", "wifi"))
    await _ok(await h.client.delete(f"/api/tickets/{ticket['id']}/tags/vpn", headers=agent.headers))
    _, timeline = await _state(h, agent, ticket["id"])
    tagged = next(e for e in timeline if e["type"] == "ticket.tagged")
    base = f"/api/tickets/{ticket['id']}"
    then = await _ok(await h.client.get(base, params={"as_of": tagged["event_id"]}, headers=agent.headers))
    assert then["tags"] == ["vpn", "wifi"]
    assert (await _ok(await h.client.get(base, headers=agent.headers)))["tags"] == ["wifi"]


async def test_one_submit_tags_with_the_reply(harness: Harness, agent: User, requester: User) -> None:
    h = harness
    ticket = await _open(h, requester)
    body = {"comment": {"body": "Looking"}, "add_tags": ["VPN", "wifi"], "remove_tags": ["wifi"]}
    answer = await _ok(await h.client.post(f"/api/tickets/{ticket['id']}/update", json=body, headers=agent.headers))
    assert answer["ticket"]["tags"] == ["vpn"]
    refused = await h.client.post(
        f"/api/tickets/{ticket['id']}/update",
        json={"comment": {"body": "me too"}, "add_tags": ["x"]},
        headers=requester.headers,
    )
    assert refused.status_code == 403
    comments = await _ok(await h.client.get(f"/api/tickets/{ticket['id']}/comments", headers=agent.headers))
    assert [c["body"] for c in comments] == ["Looking"]
