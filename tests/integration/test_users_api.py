"""Users and categories (admin)."""

from __future__ import annotations

from tests.conftest import PASSWORD, Harness, User


async def test_admin_creates_a_user_who_can_log_in(harness: Harness, admin: User) -> None:
    response = await harness.client.post(
        "/api/users",
        json={"email": "Nia@Example.com", "name": "Nia", "role": "agent", "password": PASSWORD},
        headers=admin.headers,
    )
    assert response.status_code == 201, response.text
    user = response.json()
    assert user["email"] == "nia@example.com" and user["role"] == "agent" and user["active"] is True
    login = await harness.client.post("/api/auth/login", json={"email": "nia@example.com", "password": PASSWORD})
    assert login.status_code == 200
    dup = await harness.client.post(
        "/api/users",
        json={"email": "nia@example.com", "name": "Nia 2", "role": "agent", "password": PASSWORD},
        headers=admin.headers,
    )
    assert dup.status_code == 409
    await harness.settle()
    [created] = await harness.events(type="user.created", aggregate_id=str(user["id"]))
    assert created["data"] == {"user_id": user["id"], "email": "nia@example.com", "name": "Nia", "role": "agent"}


async def test_user_input_is_validated(harness: Harness, admin: User) -> None:
    for body in (
        {"email": "not-an-email", "name": "X", "role": "agent", "password": PASSWORD},
        {"email": "x@example.com", "name": "X", "role": "system", "password": PASSWORD},
        {"email": "x@example.com", "name": "X", "role": "agent", "password": "short"},
    ):
        response = await harness.client.post("/api/users", json=body, headers=admin.headers)
        assert response.status_code == 422, body
    unknown = {"email": "x@example.com", "name": "X", "role": "agent", "password": PASSWORD, "category_ids": [77]}
    response = await harness.client.post("/api/users", json=unknown, headers=admin.headers)
    assert response.status_code == 404 and "77" in response.text  # a well-formed request naming a missing id
    users = (await harness.client.get("/api/users", headers=admin.headers)).json()
    assert [u["email"] for u in users if u["email"] == "x@example.com"] == []


async def test_the_system_user_exists_and_cannot_be_changed(harness: Harness, admin: User) -> None:
    system = (await harness.client.get("/api/users/0", headers=admin.headers)).json()
    assert system["role"] == "system"
    response = await harness.client.patch("/api/users/0", json={"role": "admin"}, headers=admin.headers)
    assert response.status_code == 403


async def test_categories_and_their_agents(harness: Harness, admin: User, agent: User, requester: User) -> None:
    created = await harness.client.post(
        "/api/categories", json={"name": "Network", "agent_ids": [agent.id]}, headers=admin.headers
    )
    assert created.status_code == 201
    category = created.json()
    assert category["agent_ids"] == [agent.id]
    assert (
        await harness.client.post("/api/categories", json={"name": "Network"}, headers=admin.headers)
    ).status_code == 409
    not_agent = await harness.client.patch(
        f"/api/categories/{category['id']}", json={"agent_ids": [requester.id]}, headers=admin.headers
    )
    assert not_agent.status_code == 409  # well-formed, but that user is no agent
    second = await harness.user("agent")
    updated = await harness.client.patch(
        f"/api/categories/{category['id']}",
        json={"name": "Networking", "agent_ids": [second.id, agent.id]},
        headers=admin.headers,
    )
    assert updated.json() == {**category, "name": "Networking", "agent_ids": sorted([agent.id, second.id])}
    user = (await harness.client.get(f"/api/users/{second.id}", headers=admin.headers)).json()
    assert user["category_ids"] == [category["id"]]
    listed = (await harness.client.get("/api/categories", headers=admin.headers)).json()
    assert [c["name"] for c in listed] == ["Networking"]
    assert (
        await harness.client.patch("/api/categories/999", json={"name": "x"}, headers=admin.headers)
    ).status_code == 404


async def test_patch_user_role_and_categories(harness: Harness, admin: User, agent: User) -> None:
    category = (await harness.client.post("/api/categories", json={"name": "Hardware"}, headers=admin.headers)).json()
    response = await harness.client.patch(
        f"/api/users/{agent.id}", json={"name": "Ana", "category_ids": [category["id"]]}, headers=admin.headers
    )
    assert response.status_code == 200
    assert response.json()["name"] == "Ana" and response.json()["category_ids"] == [category["id"]]
    await harness.settle()
    [updated] = await harness.events(type="user.updated")
    assert set(updated["data"]["changes"]) == {"name", "category_ids"}


async def test_role_and_active_changes_have_audit_events_of_their_own(
    harness: Harness, admin: User, agent: User
) -> None:
    response = await harness.client.patch(
        f"/api/users/{agent.id}", json={"role": "requester", "active": False}, headers=admin.headers
    )
    assert response.status_code == 200, response.text
    response = await harness.client.patch(f"/api/users/{agent.id}", json={"active": True}, headers=admin.headers)
    assert response.status_code == 200, response.text
    await harness.settle()
    [changed] = await harness.events(type="user.role_changed")
    assert changed["data"] == {"user_id": agent.id, "by_id": admin.id, "old_role": "agent", "new_role": "requester"}
    [deactivated] = await harness.events(type="user.deactivated")
    [activated] = await harness.events(type="user.activated")
    assert deactivated["data"] == activated["data"] == {"user_id": agent.id, "by_id": admin.id}
    assert deactivated["metadata"]["correlation_id"] == changed["metadata"]["correlation_id"]


async def test_the_last_active_admin_cannot_be_demoted_or_deactivated(harness: Harness, admin: User) -> None:
    for change in ({"role": "agent"}, {"active": False}):
        refused = await harness.client.patch(f"/api/users/{admin.id}", json=change, headers=admin.headers)
        assert refused.status_code == 409 and "last active admin" in refused.json()["detail"]
    me = (await harness.client.get(f"/api/users/{admin.id}", headers=admin.headers)).json()
    assert (me["role"], me["active"]) == ("admin", True)  # nothing changed

    other = await harness.user("admin")
    demoted = await harness.client.patch(f"/api/users/{admin.id}", json={"role": "agent"}, headers=other.headers)
    assert demoted.status_code == 200 and demoted.json()["role"] == "agent"
    last = await harness.client.patch(f"/api/users/{other.id}", json={"active": False}, headers=other.headers)
    assert last.status_code == 409
    renamed = await harness.client.patch(f"/api/users/{other.id}", json={"name": "Still Admin"}, headers=other.headers)
    assert renamed.status_code == 200
