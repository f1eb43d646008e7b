"""Driving the test OpenID provider (tests/idp/provider.mjs, started by scripts/services.sh) as a person would:
register a client, add a person, fill in its login and consent forms with httpx."""

from __future__ import annotations

import os
import re
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx

from nixflow.ids import uuid7
from tests.conftest import Harness, User, not_running
from tests.org_helpers import ok

SCOPES = ["openid", "email", "profile", "groups"]
FORM_ACTION = re.compile(r'<form method="post" action="([^"]+)"')
MAPPING = {"rules": [{"group": "helpdesk-agents", "role": "agent"}, {"group": "helpdesk-admins", "role": "admin"}]}


def idp_url() -> str:
    """The test provider's issuer URL (a test without it is skipped, or fails under CI)."""
    url = os.environ.get("NIXFLOW_TEST_OIDC_URL")
    if url is None:
        not_running("The test OpenID provider")
    return url


def register_client(*redirect_uris: str) -> dict[str, Any]:
    """A new client at the test provider (dynamic registration): its client_id and client_secret."""
    body = {"redirect_uris": list(redirect_uris), "grant_types": ["authorization_code"], "response_types": ["code"]}
    registered = httpx.post(f"{idp_url()}/reg", json=body, timeout=10)
    assert registered.status_code == 201, registered.text
    return dict(registered.json())


def person(*, email: str | None = None, verified: bool = True, groups: tuple[str, ...] = (), name: str = "") -> str:
    """A new account at the test provider (or `email`'s claims changed): its login; the password is the login."""
    login = f"p-{uuid7()[-12:]}"
    set_person(login, email=email or f"{login}@idp.test", verified=verified, groups=groups, name=name or login)
    return login


def set_person(login: str, *, email: str, verified: bool = True, groups: tuple[str, ...] = (), name: str = "") -> None:
    """Create or replace the account `login` at the test provider (its password is the login)."""
    claims = {"password": login, "email": email, "email_verified": verified, "name": name, "groups": list(groups)}
    answer = httpx.put(f"{idp_url()}/test/accounts/{login}", json=claims, timeout=10)
    assert answer.status_code == 204, answer.text


async def oidc_provider(h: Harness, admin: User, slug: str = "corp", **fields: Any) -> dict[str, Any]:
    """A provider at NixFlow for a client registered at the test provider for this NixFlow's callback."""
    client = register_client(f"{h.client.base_url}/api/auth/oidc/{slug}/callback")
    config = {"kind": "oidc", "issuer": idp_url(), "client_id": client["client_id"], "scopes": SCOPES}
    config["client_secret"] = client["client_secret"]
    body = {"slug": slug, "name": "Corp SSO", "config": config, "role_mapping": MAPPING, **fields}
    made = await ok(await h.client.post("/api/identity-providers", json=body, headers=admin.headers), 201)
    return dict(made) | {"client": client}


async def at_the_provider(authorize_url: str, login: str, *, back_to: str) -> str:
    """Sign in as `login` at the test provider from `authorize_url` and consent: the URL it sends the browser back
    to (starting with `back_to`), not yet followed."""
    async with httpx.AsyncClient(timeout=10) as browser:
        url, form = authorize_url, None
        for _ in range(12):
            page = await browser.request("POST" if form is not None else "GET", url, data=form)
            if page.is_redirect:
                url, form = urljoin(url, page.headers["location"]), None
                if url.startswith(back_to):
                    return url
                continue
            action = FORM_ACTION.search(page.text)
            assert action is not None, page.text
            url = urljoin(url, action.group(1))
            form = {"login": login, "password": login} if 'name="password"' in page.text else {"allow": "yes"}
    raise AssertionError("the test provider never sent the browser back")


async def start(h: Harness, slug: str = "corp", next: str = "/queue") -> str:
    """Start a sign-in at NixFlow (its state cookie kept by the client): the provider's authorization URL."""
    started = await h.client.get(f"/api/auth/oidc/{slug}/start", params={"next": next})
    assert started.status_code == 303, started.text
    return str(started.headers["location"])


async def sign_in(h: Harness, login: str, slug: str = "corp", next: str = "/queue") -> httpx.Response:
    """The whole sign-in through the test provider: NixFlow's answer to the provider's redirect back."""
    callback = await at_the_provider(await start(h, slug, next), login, back_to=str(h.client.base_url))
    return await h.client.get(callback)


def query_of(url: str) -> dict[str, str]:
    """A URL's query parameters, one value each."""
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
