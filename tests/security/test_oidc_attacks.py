"""OpenID Connect sign-in under attack, against the real test provider, in both modes: a replayed state, a
state from another browser, a wrong nonce, a token for another audience, an unverified address that would take
over an account: each refused with nothing created, linked or signed in."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode, urlsplit, urlunsplit

import pytest
from tests.conftest import Harness, User
from tests.oidc_helpers import (
    SCOPES,
    at_the_provider,
    idp_url,
    oidc_provider,
    person,
    query_of,
    register_client,
    sign_in,
    start,
)

from nixflow.domain.errors import Forbidden
from nixflow.domain.identity import OidcConfig
from nixflow.services import oidc

SIGN_IN_EVENTS = ("user.created", "user.identity_linked", "user.login", "user.role_changed")


async def _trail(h: Harness) -> list[str]:
    return [e["type"] for e in await h.events(category="user") if e["type"] in SIGN_IN_EVENTS]


def _with(url: str, **params: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(query=urlencode(query_of(url) | params)))


async def test_a_replayed_state_is_refused(harness: Harness, admin: User) -> None:
    h = harness
    await oidc_provider(h, admin)
    callback = await at_the_provider(await start(h), person(), back_to=str(h.client.base_url))
    assert (await h.client.get(callback)).status_code == 303
    before = await _trail(h)
    h.client.cookies.set("nixflow_oidc_state", query_of(callback)["state"], path="/api/auth/oidc")
    replayed = await h.client.get(callback)
    assert replayed.status_code == 403 and "already used" in replayed.json()["detail"]
    assert await _trail(h) == before


async def test_a_state_from_another_browser_is_refused(harness: Harness, admin: User) -> None:
    h = harness
    await oidc_provider(h, admin)
    before = await _trail(h)
    callback = await at_the_provider(await start(h), person(), back_to=str(h.client.base_url))
    h.client.cookies.clear()  # the victim's browser: it never started this sign-in
    refused = await h.client.get(callback)
    assert refused.status_code == 403 and "not started in this browser" in refused.json()["detail"]
    assert await _trail(h) == before


async def test_an_id_token_with_another_nonce_is_refused(harness: Harness, admin: User) -> None:
    h = harness
    await oidc_provider(h, admin)
    before = await _trail(h)
    authorize = _with(await start(h), nonce="a-nonce-nixflow-never-made")
    callback = await at_the_provider(authorize, person(), back_to=str(h.client.base_url))
    refused = await h.client.get(callback)
    assert refused.status_code == 403 and "nonce" in refused.json()["detail"]
    assert await _trail(h) == before


async def test_a_code_issued_to_another_client_is_refused(harness: Harness, admin: User) -> None:
    h = harness
    made = await oidc_provider(h, admin)
    other = register_client(made["client"]["redirect_uris"][0])
    before = await _trail(h)
    authorize = _with(await start(h), client_id=other["client_id"])
    callback = await at_the_provider(authorize, person(), back_to=str(h.client.base_url))
    refused = await h.client.get(callback)
    assert refused.status_code == 403 and "refused the sign-in" in refused.json()["detail"]
    assert await _trail(h) == before


async def test_an_id_token_for_another_audience_is_refused() -> None:
    """A real id_token the provider signed for client B, checked as client A's: refused for its audience (and
    accepted as B's, so the check is what refuses it)."""
    redirect = "http://127.0.0.1:9/cb"
    mine, theirs = register_client(redirect), register_client(redirect)
    async with oidc.client() as http:
        endpoints = await oidc.discover(http, idp_url())
        config = OidcConfig(kind="oidc", issuer=idp_url(), client_id=theirs["client_id"], scopes=SCOPES)
        config_b = config.model_copy(update={"client_secret": theirs["client_secret"]})
        verifier = "v" * 50
        url = oidc.authorization_url(endpoints, config, redirect_uri=redirect, state="s", nonce="n", verifier=verifier)
        code = query_of(await at_the_provider(url, person(), back_to=redirect))["code"]
        id_token = await oidc.exchange(http, endpoints, config_b, code=code, redirect_uri=redirect, verifier=verifier)
        now = datetime.now(UTC)
        as_b = await oidc.verified_claims(http, endpoints, config_b, id_token=id_token, nonce="n", now=now)
        assert as_b["aud"] == theirs["client_id"]
        config_a = config.model_copy(update={"client_id": mine["client_id"]})
        with pytest.raises(Forbidden, match="aud"):
            await oidc.verified_claims(http, endpoints, config_a, id_token=id_token, nonce="n", now=now)
        forged = id_token[: id_token.rindex(".") + 1] + "A" * 40
        with pytest.raises(Forbidden, match="not signed"):
            await oidc.verified_claims(http, endpoints, config_b, id_token=forged, nonce="n", now=now)
        with pytest.raises(Forbidden, match="exp"):
            later = datetime.fromtimestamp(as_b["exp"] + 3600, UTC)
            await oidc.verified_claims(http, endpoints, config_b, id_token=id_token, nonce="n", now=later)


async def test_an_unverified_address_never_takes_over_an_account(harness: Harness, admin: User, agent: User) -> None:
    h = harness
    await oidc_provider(h, admin)
    before = await _trail(h)
    login = person(email=agent.email, verified=False, groups=("helpdesk-admins",))
    refused = await sign_in(h, login)
    assert refused.status_code == 403 and "does not vouch" in refused.json()["detail"]
    assert await _trail(h) == before
    assert (await h.client.get("/api/auth/me")).status_code == 401
    me = await h.client.get("/api/auth/me", headers=agent.headers)
    assert me.json()["role"] == "agent"
    stranger = person(email="stranger@idp.test", verified=False)
    assert (await sign_in(h, stranger)).status_code == 403
    assert await _trail(h) == before
    users = await h.client.get("/api/users", headers=admin.headers)
    assert "stranger@idp.test" not in users.text


async def test_a_state_or_cookie_that_is_not_ascii_is_refused_not_a_500(harness: Harness, admin: User) -> None:
    """Found by schemathesis: `secrets.compare_digest` raises on non-ASCII text, which was a 500."""
    h = harness
    await oidc_provider(h, admin)
    h.client.cookies.set("nixflow_oidc_state", "cafe")
    for state in ("\u00dd\x10\u0096", "caf\u00e9"):
        answer = await h.client.get("/api/auth/oidc/corp/callback", params={"state": state, "code": "x"})
        assert answer.status_code in (400, 403), answer.text
        assert "nixflow_session" not in answer.headers.get("set-cookie", "")
