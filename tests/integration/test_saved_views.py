"""Saved views, in both modes: agents keep personal views nobody else sees, admins share views with a team (a
category's agents) or everyone, each view is listed with how many tickets its filter matches now, and shared
views are events. Bad input is refused and changes nothing."""

from __future__ import annotations

from typing import Any

from tests.conftest import Harness, User


async def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


async def _view(h: Harness, user: User, status: int = 201, **body: Any) -> Any:
    return await _ok(await h.client.post("/api/views", json=body, headers=user.headers), status)


async def _names(h: Harness, user: User) -> dict[str, int]:
    views = await _ok(await h.client.get("/api/views", headers=user.headers))
    return {v["name"]: v["count"] for v in views}


async def test_personal_views_are_their_owners(harness: Harness, agent: User, requester: User) -> None:
    h = harness
    other = await h.user("agent")
    for title in ("VPN down", "VPN slow", "Printer jam"):
        await _ok(await h.client.post("/api/tickets", json={"title": title}, headers=requester.headers), 201)
    mine = await _view(h, agent, name="My VPN", filters={"q": "VPN", "status": "new"}, sort="-priority")
    assert (mine["scope"], mine["filters"], mine["sort"], mine["count"]) == (
        "personal",
        {"q": "VPN", "status": "new"},
        "-priority",
        2,
    )
    assert await _names(h, agent) == {"My VPN": 2}
    assert await _names(h, other) == {}
    url = f"/api/views/{mine['id']}"
    for method, body in (("GET", None), ("PUT", {"name": "Mine now"}), ("DELETE", None)):
        assert (await h.client.request(method, url, json=body, headers=other.headers)).status_code == 404
    changed = await _ok(
        await h.client.put(url, json={"name": "Printers", "filters": {"q": "printer"}}, headers=agent.headers)
    )
    assert (changed["name"], changed["count"], changed["filters"]) == ("Printers", 1, {"q": "printer"})
    assert await h.events(type="workflow.view_saved") == []  # personal: not in the log staff can read
    assert (await h.client.post("/api/views", json={"name": "x"}, headers=requester.headers)).status_code == 403
    await _ok(await h.client.delete(url, headers=agent.headers), 204)
    assert await _names(h, agent) == {}


async def test_shared_views_reach_their_team_and_only_admins_manage_them(
    harness: Harness, admin: User, agent: User, requester: User
) -> None:
    h = harness
    network = await _ok(await h.client.post("/api/categories", json={"name": "Network"}, headers=admin.headers), 201)
    member = await h.user("agent", category_ids=[network["id"]])
    await _ok(
        await h.client.post(
            "/api/tickets", json={"title": "Switch", "category_id": network["id"]}, headers=requester.headers
        ),
        201,
    )
    await _view(h, agent, 403, name="Team", scope="team", category_id=network["id"])
    team = await _view(
        h, admin, name="Network queue", scope="team", category_id=network["id"], filters={"category_id": network["id"]}
    )
    everyone = await _view(h, admin, name="All new", scope="everyone", filters={"status": "new"})
    assert await _names(h, member) == {"Network queue": 1, "All new": 1}
    assert await _names(h, agent) == {"All new": 1}
    assert (await h.client.get(f"/api/views/{team['id']}", headers=agent.headers)).status_code == 404
    refused = await h.client.put(f"/api/views/{everyone['id']}", json={"name": "Mine"}, headers=member.headers)
    assert refused.status_code == 403
    assert (await h.client.delete(f"/api/views/{everyone['id']}", headers=agent.headers)).status_code == 403
    await _ok(await h.client.delete(f"/api/views/{everyone['id']}", headers=admin.headers), 204)
    saved = [(e["data"]["name"], e["data"]["scope"]) for e in await h.events(type="workflow.view_saved")]
    assert sorted(saved) == [("All new", "everyone"), ("Network queue", "team")]
    deleted = await h.events(type="workflow.view_deleted")
    assert [(e["data"]["view_id"], e["data"]["by_id"]) for e in deleted] == [(everyone["id"], admin.id)]


async def test_counts_follow_the_tickets(harness: Harness, agent: User, requester: User) -> None:
    h = harness
    view = await _view(h, agent, name="Tagged wifi", filters={"tag": "WiFi"})
    assert view["filters"] == {"tag": "wifi"} and view["count"] == 0
    made = await _ok(await h.client.post("/api/tickets", json={"title": "No wifi"}, headers=requester.headers), 201)
    await _ok(await h.client.post(f"/api/tickets/{made['id']}/tags", json={"tags": ["wifi"]}, headers=agent.headers))
    assert await _names(h, agent) == {"Tagged wifi": 1}


async def test_bad_views_are_refused_and_change_nothing(harness: Harness, admin: User, agent: User) -> None:
    h = harness
    await _view(h, agent, name="Keep")
    bad = [
        {"name": ""},
        {"name": "x", "scope": "galaxy"},
        {"name": "x", "filters": {"status": "sleeping"}},
        {"name": "x", "filters": {"owner": 3}},
        {"name": "x", "sort": "colour"},
        {"name": "x", "columns": ["Bad Column"]},
    ]
    for body in bad:
        assert (await h.client.post("/api/views", json=body, headers=agent.headers)).status_code == 422, body
    assert "category_id" in (await _view(h, admin, 422, name="x", scope="team"))["detail"]
    assert "category_id" in (await _view(h, admin, 422, name="x", scope="everyone", category_id=1))["detail"]
    assert await _names(h, agent) == {"Keep": 0}
    for n in range(24):
        await _view(h, agent, name=f"View {n}")
    assert "at most 25" in (await _view(h, agent, 409, name="One too many"))["detail"]
    assert len(await _names(h, agent)) == 25


async def test_the_queue_page_lists_the_views_with_links_that_apply_them(
    harness: Harness, agent: User, requester: User
) -> None:
    h = harness
    await _ok(await h.client.post("/api/tickets", json={"title": "New one"}, headers=requester.headers), 201)
    await _view(h, agent, name="Open vpn", filters={"statuses": ["new", "open", "pending"], "tag": "vpn"})
    await _view(h, agent, name="Still new", filters={"statuses": ["new"]})
    solved = {"status": "resolved", "unassigned": True}
    await _view(h, agent, name="Solved, nobody's", filters=solved, sort="-priority")
    page = await h.client.get("/queue", headers={"Cookie": f"nixflow_session={agent.token}"})
    assert page.status_code == 200, page.text
    assert '<a href="/queue?tag=vpn">Open vpn</a>' in page.text  # the page's default is the open statuses
    assert '<a href="/queue?status=new">Still new</a> <span class="view-count" data-count="1"' in page.text
    assert '<a href="/queue?status=resolved&amp;assignee_id=none&amp;sort=-priority">' in page.text
