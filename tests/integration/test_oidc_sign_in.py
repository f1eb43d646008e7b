"""Signing in with OpenID Connect through the real test provider (oidc-provider), in both modes: a person's first
sign-in creates their account with the role of their groups, later ones re-apply it; the buttons list the
enabled providers; a provider that is down is a clear 503."""

from __future__ import annotations

from tests.conftest import Harness, User
from tests.oidc_helpers import oidc_provider, person, set_person, sign_in
from tests.org_helpers import ok

from nixflow.api.deps import SESSION_COOKIE


async def _me(h: Harness) -> dict[str, object]:
    return dict(await ok(await h.client.get("/api/auth/me")))


async def test_a_first_sign_in_creates_the_user_with_the_role_of_their_groups(harness: Harness, admin: User) -> None:
    h = harness
    await oidc_provider(h, admin)
    login = person(groups=("helpdesk-agents",), name="Ada Lovelace")
    landed = await sign_in(h, login, next="/queue")
    assert landed.status_code == 303 and landed.headers["location"] == "/queue", landed.text
    assert h.client.cookies.get(SESSION_COOKIE)
    me = await _me(h)
    assert (me["email"], me["name"], me["role"]) == (f"{login}@idp.test", "Ada Lovelace", "agent")
    [linked] = await h.events(type="user.identity_linked")
    assert linked["data"]["via"] == "created" and linked["data"]["user_id"] == me["id"]
    # Taken out of the group at the provider: the role goes at the next sign-in.
    set_person(login, email=f"{login}@idp.test", groups=())
    h.client.cookies.clear()
    assert (await sign_in(h, login)).status_code == 303
    again = await _me(h)
    assert again["id"] == me["id"] and again["role"] == "requester"
    [changed] = await h.events(type="user.role_changed")
    assert (changed["data"]["old_role"], changed["data"]["new_role"]) == ("agent", "requester")
    assert len(await h.events(type="user.identity_linked")) == 1


async def test_an_existing_account_is_linked_by_its_verified_address(
    harness: Harness, admin: User, agent: User
) -> None:
    h = harness
    await oidc_provider(h, admin, role_mapping={})  # the provider does not manage roles
    login = person(email=agent.email)
    assert (await sign_in(h, login)).status_code == 303
    me = await _me(h)
    assert me["id"] == agent.id and me["role"] == "agent"
    [linked] = await h.events(type="user.identity_linked")
    assert linked["data"]["via"] == "email"


async def test_the_buttons_list_enabled_providers_and_a_disabled_one_signs_nobody_in(
    harness: Harness, admin: User
) -> None:
    h = harness
    corp = await oidc_provider(h, admin)
    await oidc_provider(h, admin, slug="other", name="Other", enabled=False)
    listed = await ok(await h.client.get("/api/auth/oidc/providers"))
    assert listed == [{"slug": "corp", "name": "Corp SSO", "start_url": "/api/auth/oidc/corp/start"}]
    await h.client.patch(f"/api/identity-providers/{corp['id']}", json={"enabled": False}, headers=admin.headers)
    assert await ok(await h.client.get("/api/auth/oidc/providers")) == []
    for slug in ("corp", "other", "nobody"):
        assert (await h.client.get(f"/api/auth/oidc/{slug}/start")).status_code == 404


async def test_a_provider_that_is_down_gets_a_clear_503(harness: Harness, admin: User) -> None:
    h = harness
    config = {"kind": "oidc", "issuer": "http://127.0.0.1:9/down", "client_id": "nixflow"}
    body = {"slug": "down", "name": "Down", "config": config}
    await ok(await h.client.post("/api/identity-providers", json=body, headers=admin.headers), 201)
    before = len(await h.events())
    answer = await h.client.get("/api/auth/oidc/down/start")
    assert answer.status_code == 503, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert "could not be reached" in answer.json()["detail"]
    assert len(await h.events()) == before


async def test_next_is_a_path_on_this_site_only(harness: Harness, admin: User) -> None:
    h = harness
    await oidc_provider(h, admin)
    landed = await sign_in(h, person(), next="https://evil.example/steal")
    assert landed.status_code == 303 and landed.headers["location"] == "/"
