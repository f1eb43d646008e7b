"""The OAuth2 mailbox tests' side of the test OpenID provider (tests/idp/provider.mjs): register a client, walk
its sign-in and consent screens as a person would, revoke what the person revokes, and an SMTP server that checks
XOAUTH2 tokens by asking the provider to introspect them."""

from __future__ import annotations

import base64
import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
from aiosmtpd.smtp import SMTP, AuthResult

from nixflow.crypto import keyring
from nixflow.store import mail_oauth
from tests.conftest import Harness, User, not_running
from tests.smtp_server import Inbox, SmtpServer, free_port

CALLBACK = "/api/mail/oauth/callback"
PASSWORD = "mailbox-password"


def provider_url() -> str:
    url = os.environ.get("NIXFLOW_TEST_OIDC_URL")
    if url is None:
        not_running("the test OpenID provider")
    return url


def account(username: str) -> None:
    """An account at the provider whose subject is `username` (the user the mail server knows)."""
    person = {"password": PASSWORD, "email": f"{username}@idp.test", "email_verified": True, "name": username}
    made = httpx.put(f"{provider_url()}/test/accounts/{username}", json=person)
    made.raise_for_status()


def register_client(redirect_uri: str, **metadata: Any) -> dict[str, str]:
    """A confidential client of the provider (RFC 7591) allowed refresh tokens: its id and secret. `metadata`: e.g.
    `access_token_ttl` (seconds) for short-lived access tokens."""
    body = {
        **metadata,
        "redirect_uris": [redirect_uri],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "client_secret_basic",
    }
    made = httpx.post(f"{provider_url()}/reg", json=body)
    made.raise_for_status()
    return {"client_id": made.json()["client_id"], "client_secret": made.json()["client_secret"]}


async def add_mailbox(h: Harness, admin: User, address: str, **metadata: Any) -> dict[str, Any]:
    """An OAuth2 mailbox for `address` at the test provider (a client registered with `metadata`), found by the
    provider's discovery document."""
    client = register_client(f"{h.nixflow.settings.base_url}{CALLBACK}", **metadata)
    body = {
        "address": address,
        "provider": "custom",
        "discovery_url": f"{provider_url()}/.well-known/openid-configuration",
        "scopes": "openid offline_access",
        **client,
    }
    made = await h.client.post("/api/mail/oauth/mailboxes", json=body, headers=admin.headers)
    assert made.status_code == 201, made.text
    mailbox: dict[str, Any] = made.json()
    return mailbox


async def consent(
    h: Harness, admin: User, mailbox_id: int, username: str, *, accept: str = "application/json"
) -> httpx.Response:
    """Start, sign in at the provider as `username` and allow, and come back: the callback's answer (`accept`: what
    the admin's client asks the callback for; a browser asks for HTML)."""
    account(username)
    started = await h.client.get("/api/mail/oauth/start", params={"mailbox_id": mailbox_id}, headers=admin.headers)
    assert started.status_code == 303, started.text
    url = started.headers["location"]
    async with httpx.AsyncClient() as browser:
        for _ in range(12):
            if url.startswith(h.nixflow.settings.base_url):
                break
            answer = await browser.get(url)
            if answer.is_redirect:
                url = urljoin(url, answer.headers["location"])
                continue
            assert answer.status_code == 200, answer.text
            action = re.search(r'<form method="post" action="([^"]+)"', answer.text)
            assert action is not None, answer.text
            signing_in = 'name="login"' in answer.text
            form = {"login": username, "password": PASSWORD} if signing_in else {"allow": "yes"}
            posted = await browser.post(urljoin(url, action.group(1)), data=form)
            assert posted.is_redirect, posted.text
            url = urljoin(url, posted.headers["location"])
    back = urlsplit(url)
    assert back.path == CALLBACK, url
    return await h.client.get(f"{CALLBACK}?{back.query}", headers={**admin.headers, "Accept": accept})


async def stored_refresh_token(h: Harness, address: str) -> str:
    """The refresh token NixFlow holds for `address`, decrypted (it is stored encrypted)."""
    row = await h.nixflow.db.read(lambda conn: mail_oauth.by_address(conn, address))
    return keyring(h.nixflow.settings).decrypt(row.refresh_token)


async def mailbox_client(h: Harness, address: str) -> dict[str, str]:
    """The client at the provider that `address`'s mailbox was set up with (which may revoke its tokens)."""
    row = await h.nixflow.db.read(lambda conn: mail_oauth.by_address(conn, address))
    return {"client_id": row.client_id, "client_secret": keyring(h.nixflow.settings).decrypt(row.client_secret)}


def revoke(token: str, client: dict[str, str]) -> None:
    """What a person does at the provider when they withdraw the app's access (RFC 7009)."""
    done = httpx.post(
        f"{provider_url()}/token/revocation", data={"token": token}, auth=(client["client_id"], client["client_secret"])
    )
    done.raise_for_status()


def active(token: str, client: dict[str, str]) -> dict[str, Any]:
    """The provider's introspection of `token` (RFC 7662)."""
    answer = httpx.post(
        f"{provider_url()}/token/introspection",
        data={"token": token},
        auth=(client["client_id"], client["client_secret"]),
    )
    answer.raise_for_status()
    found: dict[str, Any] = answer.json()
    return found


class OAuthInbox(Inbox):
    """An SMTP server that takes mail only after XOAUTH2, whose token it asks the provider to introspect."""

    def __init__(self, resource: dict[str, str]) -> None:
        super().__init__()
        self.resource = resource  # the client the server introspects as
        self.signed_in: list[str] = []

    async def handle_MAIL(
        self, server: SMTP, session: Any, envelope: Any, address: str, mail_options: list[str]
    ) -> str:
        if not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def auth_XOAUTH2(self, server: SMTP, args: list[str]) -> AuthResult:
        blob = base64.b64decode(args[1]) if len(args) > 1 else await server.challenge_auth("")
        fields = dict(part.split("=", 1) for part in bytes(blob).decode().split("\x01") if "=" in part)
        user, token = fields.get("user", ""), fields.get("auth", "").removeprefix("Bearer ")
        async with httpx.AsyncClient() as client:
            answer = await client.post(
                f"{provider_url()}/token/introspection",
                data={"token": token},
                auth=(self.resource["client_id"], self.resource["client_secret"]),
            )
        info = answer.json()
        if info.get("active") and info.get("sub") == user:
            self.signed_in.append(user)
            return AuthResult(success=True, auth_data=user)
        error = json.dumps({"status": "401", "schemes": "bearer", "scope": "openid"})
        await server.challenge_auth(error)  # XOAUTH2's error report; the client answers with an empty line
        return AuthResult(success=False, handled=False)  # aiosmtpd answers 535


@contextmanager
def oauth_smtp_server() -> Iterator[SmtpServer]:
    """A real SMTP server (aiosmtpd) requiring XOAUTH2 before MAIL (on loopback, without TLS: a test)."""
    inbox = OAuthInbox(register_client("http://resource.invalid/"))
    server = SmtpServer(inbox, free_port())
    server.options = {"auth_require_tls": False}
    server.start()
    try:
        yield server
    finally:
        server.stop()
