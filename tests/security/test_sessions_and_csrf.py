"""Attacks on sessions: forged cross-site writes, stolen-after-logout credentials, leaky cookies, form logins."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from tests.conftest import PASSWORD, Harness, User, start

from nixflow.config import Settings


async def sign_in(harness: Harness, user: User) -> dict[str, Any]:
    """Log in through the shared client, which keeps the cookies like a browser."""
    response = await harness.client.post("/api/auth/login", json={"email": user.email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return dict(response.json())


async def ticket_count(harness: Harness, user: User) -> int:
    listed = await harness.client.get("/api/tickets", headers=user.headers)
    return len(listed.json()["items"])


async def event_ids(harness: Harness) -> set[str]:
    """Every event in the log: a refused write must add none."""
    await harness.settle()
    return {e["event_id"] for e in await harness.events()}


WRITES = [
    ("POST", "/api/tickets", {"title": "forged"}),
    ("POST", "/api/auth/tokens", None),
    ("POST", "/api/auth/logout", None),
]


@pytest.mark.parametrize("csrf", [None, "", "wrong-token", "x" * 300])
async def test_cookie_writes_without_the_right_csrf_token_are_refused_and_change_nothing(
    harness: Harness, requester: User, csrf: str | None
) -> None:
    await sign_in(harness, requester)
    before = await ticket_count(harness, requester)
    logged = await event_ids(harness)
    headers = {} if csrf is None else {"X-CSRF-Token": csrf}
    for method, path, body in WRITES:
        response = await harness.client.request(method, path, json=body, headers=headers)
        assert response.status_code == 403, (method, path, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert "X-CSRF-Token" in response.json()["detail"]
    assert await ticket_count(harness, requester) == before
    assert await event_ids(harness) == logged
    # The session survived the forged logout, and no token was minted.
    assert (await harness.client.get("/api/auth/me")).status_code == 200
    tokens = (await harness.client.get("/api/auth/tokens")).json()
    assert [t["kind"] for t in tokens] == ["api", "session"]


async def test_the_csrf_token_of_another_session_does_not_work(harness: Harness, requester: User) -> None:
    other = await harness.user("requester")
    theirs = await sign_in(harness, other)
    await sign_in(harness, requester)  # the client now holds the requester's cookie
    logged = await event_ids(harness)
    response = await harness.client.post(
        "/api/tickets", json={"title": "x"}, headers={"X-CSRF-Token": theirs["csrf_token"]}
    )
    assert response.status_code == 403
    assert await ticket_count(harness, requester) == 0 and await ticket_count(harness, other) == 0
    assert await event_ids(harness) == logged


async def test_cookie_writes_with_the_csrf_token_work(harness: Harness, requester: User) -> None:
    session = await sign_in(harness, requester)
    assert harness.client.cookies["nixflow_csrf"] == session["csrf_token"]
    headers = {"X-CSRF-Token": harness.client.cookies["nixflow_csrf"]}
    created = await harness.client.post("/api/tickets", json={"title": "by cookie"}, headers=headers)
    assert created.status_code == 201 and created.json()["requester_id"] == requester.id


async def test_cookie_reads_need_no_csrf_token(harness: Harness, requester: User) -> None:
    await sign_in(harness, requester)
    assert (await harness.client.get("/api/tickets")).status_code == 200


async def test_bearer_writes_need_no_csrf_token(harness: Harness, requester: User) -> None:
    created = await harness.client.post("/api/tickets", json={"title": "api"}, headers=requester.headers)
    assert created.status_code == 201


async def test_an_api_token_planted_as_cookie_cannot_write(harness: Harness, requester: User) -> None:
    harness.client.cookies.set("nixflow_session", requester.token)
    response = await harness.client.post("/api/tickets", json={"title": "x"}, headers={"X-CSRF-Token": "guess"})
    assert response.status_code == 403


@pytest.mark.parametrize(
    "content_type, content",
    [
        ("application/x-www-form-urlencoded", "email=a%40example.com&password=correct+horse+battery"),
        ("text/plain", '{"email": "a@example.com", "password": "correct horse battery"}'),
        ("multipart/form-data; boundary=x", '--x\r\nContent-Disposition: form-data; name="email"\r\n\r\na\r\n--x--'),
        (None, '{"email": "a@example.com", "password": "correct horse battery"}'),
    ],
)
async def test_login_refuses_anything_but_json(harness: Harness, content_type: str | None, content: str) -> None:
    await harness.user("agent", email="a@example.com")
    headers = {"Content-Type": content_type} if content_type else {}
    response = await harness.client.post("/api/auth/login", content=content, headers=headers)
    assert response.status_code == 415, response.text
    assert "nixflow_session" not in response.cookies


async def test_logout_by_cookie_kills_the_cookie_and_the_token(harness: Harness, agent: User) -> None:
    session = await sign_in(harness, agent)
    cookie = harness.client.cookies["nixflow_session"]
    csrf = harness.client.cookies["nixflow_csrf"]
    assert cookie == session["token"]
    response = await harness.client.post("/api/auth/logout", headers={"X-CSRF-Token": csrf})
    assert response.status_code == 204
    harness.client.cookies.clear()
    harness.client.cookies.set("nixflow_session", cookie)
    stale_cookie = await harness.client.get("/api/auth/me")
    stale_token = await harness.client.get("/api/auth/me", headers={"Authorization": f"Bearer {session['token']}"})
    assert stale_cookie.status_code == 401 and stale_token.status_code == 401


async def test_logout_by_token_kills_the_cookie_too(harness: Harness, agent: User) -> None:
    session = await sign_in(harness, agent)
    cookie = harness.client.cookies["nixflow_session"]
    bearer = {"Authorization": f"Bearer {session['token']}"}
    assert (await harness.client.post("/api/auth/logout", headers=bearer)).status_code == 204
    harness.client.cookies.clear()
    harness.client.cookies.set("nixflow_session", cookie)
    assert (await harness.client.get("/api/tickets")).status_code == 401


async def test_cookies_are_httponly_samesite_lax_and_not_secure_over_http(harness: Harness, agent: User) -> None:
    response = await harness.client.post("/api/auth/login", json={"email": agent.email, "password": PASSWORD})
    cookies = {c.split("=", 1)[0]: c.lower() for c in response.headers.get_list("set-cookie")}
    assert "httponly" in cookies["nixflow_session"] and "samesite=lax" in cookies["nixflow_session"]
    assert "secure" not in cookies["nixflow_session"]
    # The CSRF cookie must be readable by the page's script, which echoes it back.
    assert "httponly" not in cookies["nixflow_csrf"] and "samesite=lax" in cookies["nixflow_csrf"]


@pytest.fixture
async def https_harness(settings: Settings) -> AsyncIterator[Harness]:
    async for h in start(settings):
        transport = httpx.ASGITransport(app=h.app)
        async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as client:
            yield Harness(h.app, client)


async def test_cookies_are_secure_over_https(https_harness: Harness) -> None:
    agent = await https_harness.user("agent")
    response = await https_harness.client.post("/api/auth/login", json={"email": agent.email, "password": PASSWORD})
    assert response.status_code == 200
    for cookie in response.headers.get_list("set-cookie"):
        assert "; secure" in cookie.lower(), cookie
    assert response.headers["strict-transport-security"].startswith("max-age=")


async def test_a_forwarded_https_header_is_ignored_unless_proxies_are_trusted(harness: Harness, agent: User) -> None:
    response = await harness.client.post(
        "/api/auth/login",
        json={"email": agent.email, "password": PASSWORD},
        headers={"X-Forwarded-Proto": "https"},
    )
    assert all("secure" not in c.lower() for c in response.headers.get_list("set-cookie"))
    assert "strict-transport-security" not in response.headers


@pytest.fixture
async def proxied_harness(settings: Settings) -> AsyncIterator[Harness]:
    """NixFlow behind a TLS-terminating proxy it trusts: the proxy speaks plain HTTP to it."""
    async for h in start(settings.model_copy(update={"trust_proxy_headers": True})):
        yield h


@pytest.mark.parametrize("proto", ["https", "http"])
async def test_behind_a_trusted_proxy_cookies_and_hsts_follow_the_forwarded_scheme(
    proxied_harness: Harness, proto: str
) -> None:
    agent = await proxied_harness.user("agent")
    response = await proxied_harness.client.post(
        "/api/auth/login",
        json={"email": agent.email, "password": PASSWORD},
        headers={"X-Forwarded-Proto": proto, "X-Forwarded-For": "203.0.113.7"},
    )
    assert response.status_code == 200, response.text
    cookies = response.headers.get_list("set-cookie")
    assert cookies and all(("; secure" in c.lower()) == (proto == "https") for c in cookies), cookies
    assert ("strict-transport-security" in response.headers) == (proto == "https")
    page = await proxied_harness.client.get("/login", headers={"X-Forwarded-Proto": proto})
    assert ("strict-transport-security" in page.headers) == (proto == "https")


async def test_api_tokens_are_shown_once_stored_hashed_listed_and_revocable(harness: Harness, requester: User) -> None:
    created = (await harness.client.post("/api/auth/tokens", headers=requester.headers)).json()
    new = {"Authorization": f"Bearer {created['token']}"}
    assert (await harness.client.get("/api/auth/me", headers=new)).status_code == 200

    listed = (await harness.client.get("/api/auth/tokens", headers=requester.headers)).json()
    assert created["id"] in [t["id"] for t in listed]
    assert created["token"] not in str(listed)

    def stored(conn: Any) -> list[str]:
        from sqlalchemy import select

        from nixflow.store.tables import api_tokens

        return [r[0] for r in conn.execute(select(api_tokens.c.token_hash))]

    hashes = await harness.nixflow.db.read(stored)
    assert created["token"] not in hashes and requester.token not in hashes

    revoked = await harness.client.delete(f"/api/auth/tokens/{created['id']}", headers=requester.headers)
    assert revoked.status_code == 204
    assert (await harness.client.get("/api/auth/me", headers=new)).status_code == 401
    assert (await harness.client.get("/api/auth/me", headers=requester.headers)).status_code == 200


async def test_nobody_revokes_another_users_token(harness: Harness, requester: User, admin: User) -> None:
    other = await harness.user("requester")
    created = (await harness.client.post("/api/auth/tokens", headers=other.headers)).json()
    for attacker in (requester, admin):
        response = await harness.client.delete(f"/api/auth/tokens/{created['id']}", headers=attacker.headers)
        assert response.status_code == 404
    assert (await harness.client.get("/api/auth/me", headers={"Authorization": f"Bearer {created['token']}"})).json()[
        "id"
    ] == other.id


@pytest.mark.parametrize(
    "authorization",
    ["Bearer ", "Bearer " + "a" * 600, "Basic dXNlcjpwYXNz", "Bearer ' OR '1'='1", "Bearer \u00e9t\u00e9"],
)
async def test_malformed_credentials_get_401(harness: Harness, authorization: str) -> None:
    response = await harness.client.get(
        "/api/tickets",
        headers=[("Authorization", authorization.encode("utf-8"))],  # type: ignore[list-item]
    )
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_tokens_are_stored_under_the_secret_key_and_survive_its_rotation(harness: Harness, agent: User) -> None:
    """A database copy without NIXFLOW_SECRET_KEY checks no token; rotating the key keeps tokens working."""
    from sqlalchemy import select

    from nixflow.store.tables import api_tokens

    token = agent.token
    hashes = await harness.nixflow.db.read(lambda conn: [r[0] for r in conn.execute(select(api_tokens.c.token_hash))])
    assert hashlib.sha256(token.encode()).hexdigest() not in hashes

    old_key = harness.nixflow.settings.secret_key
    bearer = {"Authorization": f"Bearer {token}"}
    for update, status in (
        ({"secret_key": "another-key"}, 401),
        ({"secret_key": "another-key", "secret_key_previous": f"older {old_key}"}, 200),
    ):
        rotated = harness.nixflow.settings.model_copy(update=update)
        async for other in start(rotated, run_worker=False, migrate=False):
            assert (await other.client.get("/api/auth/me", headers=bearer)).status_code == status, update
