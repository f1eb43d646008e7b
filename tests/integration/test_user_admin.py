"""User admin: edit with validation, search, deactivation previewed then done as previewed (SQLite, and
PostgreSQL + Redis)."""

from __future__ import annotations

from typing import Any

from tests.conftest import PASSWORD, Harness, User


async def _patch(harness: Harness, admin: User, user_id: int, **body: Any) -> Any:
    return await harness.client.patch(f"/api/users/{user_id}", json=body, headers=admin.headers)


async def test_name_email_role_and_categories_are_edited_with_validation(
    harness: Harness, admin: User, agent: User, requester: User
) -> None:
    category = (await harness.client.post("/api/categories", json={"name": "Network"}, headers=admin.headers)).json()
    done = await _patch(
        harness, admin, agent.id, name="Sam Agent", email="Sam@Example.com", category_ids=[category["id"]]
    )
    assert done.status_code == 200, done.text
    assert (done.json()["name"], done.json()["email"], done.json()["category_ids"]) == (
        "Sam Agent",
        "sam@example.com",
        [category["id"]],
    )
    login = await harness.client.post("/api/auth/login", json={"email": "sam@example.com", "password": PASSWORD})
    assert login.status_code == 200  # the new address signs in
    await harness.settle()
    [updated] = [e for e in await harness.events(type="user.updated") if e["data"]["user_id"] == agent.id]
    assert updated["data"]["changes"]["email"] == {"old": agent.email, "new": "sam@example.com"}

    before = (await harness.client.get(f"/api/users/{requester.id}", headers=admin.headers)).json()
    for body, status in (
        ({"email": "not-an-email"}, 422),
        ({"email": "SAM@example.com"}, 409),  # taken, in any case
        ({"role": "system"}, 422),
        ({"role": "owner"}, 422),
        ({"name": "  "}, 422),
    ):
        answer = await _patch(harness, admin, requester.id, **body)
        assert answer.status_code == status, (body, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json")
    assert (await harness.client.get(f"/api/users/{requester.id}", headers=admin.headers)).json() == before


async def test_the_last_active_admin_is_neither_demoted_nor_deactivated(harness: Harness, admin: User) -> None:
    for body in ({"role": "agent"}, {"active": False}):
        answer = await _patch(harness, admin, admin.id, **body)
        assert answer.status_code == 409, answer.text
        assert "last active admin" in answer.json()["detail"]
    preview = (await harness.client.get(f"/api/users/{admin.id}/deactivation-preview", headers=admin.headers)).json()
    assert "last active admin" in preview["blocked"]
    second = await harness.user("admin")
    assert (await _patch(harness, second, admin.id, role="agent")).status_code == 200


async def test_search_by_name_or_email_role_and_active_in_pages(harness: Harness, admin: User) -> None:
    made = [
        await harness.user("agent", name="Ada Lovelace", email="ada@example.com"),
        await harness.user("requester", name="Alan Turing", email="turing@lab.example"),
        await harness.user("agent", name="Grace Hopper", email="grace@navy.example"),
        await harness.user("agent", name="Adam Smith", email="adam@example.com"),
    ]
    assert (await _patch(harness, admin, made[3].id, active=False)).status_code == 200

    async def ids(**params: Any) -> list[int]:
        answer = await harness.client.get("/api/users", params=params, headers=admin.headers)
        assert answer.status_code == 200, answer.text
        return [u["id"] for u in answer.json()]

    assert await ids(q="ADA") == [made[0].id, made[3].id]  # name, any case
    assert await ids(q="navy") == [made[2].id]  # email
    assert await ids(q="a", role="agent", active="true") == [made[0].id, made[2].id]
    assert await ids(active="false") == [made[3].id]
    assert await ids(q="100%") == []  # a wildcard is a character
    walked: list[int] = []
    url: str | None = "/api/users?limit=2&role=agent"
    while url:
        page = await harness.client.get(url, headers=admin.headers)
        walked += [u["id"] for u in page.json()]
        link = page.headers.get("link")
        url = link[1 : link.index(">")] if link else None
    assert walked == [made[0].id, made[2].id, made[3].id]
    everyone = (await harness.client.get("/api/users", headers=admin.headers)).json()
    assert 0 in [u["id"] for u in everyone]  # unfiltered: every user, as before
    assert (await harness.client.get("/api/users", params={"role": "boss"}, headers=admin.headers)).status_code == 422


async def test_deactivation_does_what_its_preview_said(harness: Harness, admin: User, requester: User) -> None:
    category = (await harness.client.post("/api/categories", json={"name": "Desk"}, headers=admin.headers)).json()
    leaver = await harness.user("agent", name="Leaver", category_ids=[category["id"]])
    session = await harness.client.post("/api/auth/login", json={"email": leaver.email, "password": PASSWORD})
    session_headers = {"Authorization": f"Bearer {session.json()['token']}"}
    ticket_ids = []
    for title in ("one", "two", "three", "done"):
        made = (await harness.client.post("/api/tickets", json={"title": title}, headers=requester.headers)).json()
        moved = await harness.client.patch(
            f"/api/tickets/{made['id']}",
            json={"version": made["version"], "assignee_id": leaver.id},
            headers=admin.headers,
        )
        assert moved.status_code == 200, moved.text
        ticket_ids.append(made["id"])
    resolved = await harness.client.post(
        f"/api/tickets/{ticket_ids[3]}/transition", json={"status": "resolved"}, headers=admin.headers
    )
    assert resolved.status_code == 200, resolved.text

    preview = await harness.client.get(f"/api/users/{leaver.id}/deactivation-preview", headers=admin.headers)
    assert preview.status_code == 200, preview.text
    said = preview.json()
    assert said["open_tickets"] == 3 and [t["id"] for t in said["tickets"]] == ticket_ids[:3]
    assert said["tickets_become"] == "reassigned" and said["blocked"] is None
    assert said["categories"] == [{"id": category["id"], "name": "Desk"}]
    assert (said["sessions"], said["api_tokens"]) == (1, 1)

    done = await _patch(harness, admin, leaver.id, active=False)
    assert done.status_code == 200, done.text
    for ticket_id in ticket_ids:
        ticket = (await harness.client.get(f"/api/tickets/{ticket_id}", headers=admin.headers)).json()
        assert ticket["assignee_id"] == (leaver.id if ticket_id == ticket_ids[3] else None)
    for headers in (leaver.headers, session_headers):
        assert (await harness.client.get("/api/tickets", headers=headers)).status_code == 401
    await harness.settle()
    [ended] = await harness.events(type="user.access_ended", aggregate_id=str(leaver.id))
    assert ended["data"] | {"by_id": None} == {
        "user_id": leaver.id,
        "by_id": None,
        "sessions_ended": 1,
        "api_tokens_revoked": 1,
    }
    unassigned = [
        e for e in await harness.events(type="ticket.assigned", correlation_id=ended["metadata"]["correlation_id"])
    ]
    assert sorted(int(e["aggregate_id"]) for e in unassigned) == ticket_ids[:3]  # one unit of work
    # Reactivated, the account keeps its categories; the old credentials stay ended.
    assert (await _patch(harness, admin, leaver.id, active=True)).json()["category_ids"] == [category["id"]]
    assert (await harness.client.get("/api/tickets", headers=leaver.headers)).status_code == 401
    again = await harness.client.get(f"/api/users/{leaver.id}/deactivation-preview", headers=admin.headers)
    assert (again.json()["open_tickets"], again.json()["sessions"], again.json()["api_tokens"]) == (0, 0, 0)


async def test_only_admins_administer(harness: Harness, agent: User, requester: User) -> None:
    for headers in (agent.headers, requester.headers):
        preview = await harness.client.get(f"/api/users/{agent.id}/deactivation-preview", headers=headers)
        assert preview.status_code == 403
        imported = await harness.client.post("/api/users/import", content=b"A,a@example.com,agent", headers=headers)
        assert imported.status_code == 403
    missing = await harness.client.get(
        "/api/users/999/deactivation-preview", headers=(await harness.user("admin")).headers
    )
    assert missing.status_code == 404
