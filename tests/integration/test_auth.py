"""Login, sessions, tokens and role isolation."""

from __future__ import annotations

import asyncio

from tests.conftest import PASSWORD, Harness, User


async def login(harness: Harness, email: str, password: str = PASSWORD) -> dict[str, object]:
    response = await harness.client.post("/api/auth/login", json={"email": email, "password": password})
    return {"status": response.status_code, "body": response.json(), "cookies": dict(response.cookies)}


async def test_login_gives_a_bearer_token_and_an_httponly_cookie(harness: Harness, agent: User) -> None:
    response = await harness.client.post("/api/auth/login", json={"email": agent.email, "password": PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert body["user"]["id"] == agent.id and body["user"]["role"] == "agent"
    assert "password_hash" not in body["user"]
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    me = await harness.client.get("/api/auth/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.json()["email"] == agent.email


async def test_wrong_password_and_unknown_email_look_the_same(harness: Harness, agent: User) -> None:
    wrong = await harness.client.post("/api/auth/login", json={"email": agent.email, "password": "nope-nope"})
    unknown = await harness.client.post("/api/auth/login", json={"email": "ghost@example.com", "password": "nope-nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong.headers["content-type"].startswith("application/problem+json")
    await harness.settle()
    failures = await harness.events(type="user.login_failed")
    assert [f["data"]["email"] for f in failures] == [agent.email, "ghost@example.com"]
    assert all("password" not in f["data"] for f in failures)


async def test_logout_ends_the_session_at_once(harness: Harness, agent: User) -> None:
    response = await harness.client.post("/api/auth/login", json={"email": agent.email, "password": PASSWORD})
    headers = {"Authorization": f"Bearer {response.json()['token']}"}
    assert (await harness.client.get("/api/tickets", headers=headers)).status_code == 200
    assert (await harness.client.post("/api/auth/logout", headers=headers)).status_code == 204
    assert (await harness.client.get("/api/tickets", headers=headers)).status_code == 401


async def test_every_api_call_but_health_and_login_needs_credentials(harness: Harness) -> None:
    assert (await harness.client.get("/api/health")).status_code == 200
    for method, path in [
        ("GET", "/api/tickets"),
        ("POST", "/api/tickets"),
        ("GET", "/api/events"),
        ("GET", "/api/users"),
        ("GET", "/api/events/types"),
        ("GET", "/api/tickets/1"),
    ]:
        response = await harness.client.request(method, path, headers={"Authorization": "Bearer not-a-token"})
        assert response.status_code == 401, (method, path)
        assert response.json()["status"] == 401


async def test_the_system_user_cannot_log_in(harness: Harness) -> None:
    response = await harness.client.post("/api/auth/login", json={"email": "system@nixflow.invalid", "password": "x"})
    assert response.status_code == 401


async def test_a_deactivated_user_is_locked_out(harness: Harness, admin: User, agent: User) -> None:
    assert (await harness.client.get("/api/tickets", headers=agent.headers)).status_code == 200  # cached now
    response = await harness.client.patch(f"/api/users/{agent.id}", json={"active": False}, headers=admin.headers)
    assert response.status_code == 200 and response.json()["active"] is False
    assert (await harness.client.get("/api/tickets", headers=agent.headers)).status_code == 401
    assert (await login(harness, agent.email))["status"] == 401


async def test_requesters_see_only_their_own_tickets(harness: Harness, requester: User) -> None:
    other = await harness.user("requester")
    mine = (await harness.client.post("/api/tickets", json={"title": "mine"}, headers=requester.headers)).json()
    theirs = (await harness.client.post("/api/tickets", json={"title": "theirs"}, headers=other.headers)).json()
    listed = (await harness.client.get("/api/tickets", headers=requester.headers)).json()["items"]
    assert [t["id"] for t in listed] == [mine["id"]]
    for method, path, body in [
        ("GET", f"/api/tickets/{theirs['id']}", None),
        ("PATCH", f"/api/tickets/{theirs['id']}", {"version": 1, "title": "stolen"}),
        ("POST", f"/api/tickets/{theirs['id']}/comments", {"body": "hi"}),
        ("POST", f"/api/tickets/{theirs['id']}/transition", {"status": "open"}),
        ("GET", f"/api/tickets/{theirs['id']}/events", None),
        ("GET", f"/api/tickets/{theirs['id']}/comments", None),
        ("POST", f"/api/tickets/{theirs['id']}/approve", {}),
    ]:
        response = await harness.client.request(method, path, json=body, headers=requester.headers)
        assert response.status_code == 404, (method, path, response.text)
    again = (await harness.client.get(f"/api/tickets/{theirs['id']}", headers=other.headers)).json()
    assert again["title"] == "theirs" and again["version"] == 1


async def test_requesters_and_agents_cannot_reach_admin_configuration(
    harness: Harness, requester: User, agent: User
) -> None:
    for user in (requester, agent):
        for method, path, body in [
            ("GET", "/api/users", None),
            ("POST", "/api/users", {"email": "x@example.com", "name": "X", "role": "admin", "password": "12345678"}),
            ("GET", "/api/categories", None),
            ("POST", "/api/categories", {"name": "Sneaky"}),
            ("GET", "/api/events", None),
            ("GET", "/api/events/stats", None),
        ]:
            response = await harness.client.request(method, path, json=body, headers=user.headers)
            assert response.status_code == 403, (user, method, path)


async def test_a_token_revoked_by_another_process_stops_working(harness: Harness, agent: User) -> None:
    """Credentials are cached per process; another process's revocation reaches it through the log."""
    from nixflow.bootstrap import build
    from nixflow.domain.envelope import EventContext
    from nixflow.services import auth

    assert (await harness.client.get("/api/tickets", headers=agent.headers)).status_code == 200  # cached now
    found = await harness.nixflow.authenticate(agent.token)
    assert found is not None
    other = build(harness.nixflow.settings)  # a second NixFlow on the same database: its own writer and cache
    try:
        ctx = EventContext(correlation_id="revoke", actor_id=agent.id, source="test")
        await other.writer.run(lambda tx: auth.revoke(tx, token_id=found.token_id, user_id=agent.id), ctx)
    finally:
        other.writer.close()
        other.db.dispose()
    for _ in range(30):  # the log tailer polls every 100 ms; the cache itself keeps entries 5 s
        if (await harness.client.get("/api/tickets", headers=agent.headers)).status_code == 401:
            break
        await asyncio.sleep(0.05)
    assert (await harness.client.get("/api/tickets", headers=agent.headers)).status_code == 401


async def test_nul_characters_are_text_like_any_other_not_a_server_error(harness: Harness, mode: str) -> None:
    """PostgreSQL refuses NUL in text; SQLite keeps it. Neither may turn one into a 500: a login with one is
    refused like any unknown address, and a ticket titled with one is stored (as U+FFFD on PostgreSQL)."""
    refused = await harness.client.post("/api/auth/login", json={"email": "gh\x00st@example.com", "password": "x"})
    assert refused.status_code == 401, refused.text
    requester = await harness.user("requester")
    created = await harness.client.post(
        "/api/tickets", json={"title": "printer\x00 jam", "description": "tray\x002"}, headers=requester.headers
    )
    assert created.status_code == 201, created.text
    stored = "\x00" if mode == "embedded" else "\ufffd"
    again = await harness.client.get(f"/api/tickets/{created.json()['id']}", headers=requester.headers)
    assert (again.json()["title"], again.json()["description"]) == (f"printer{stored} jam", f"tray{stored}2")
