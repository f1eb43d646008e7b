"""The OAuth2 mailbox tests' side of the provider (tests/oauth_server.py): register a client, walk the consent
screen as a person would, revoke what the person revokes, and an SMTP server that checks XOAUTH2 tokens there."""

from __future__ import annotations

import base64
import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import httpx
from aiosmtpd.smtp import SMTP, AuthResult

from nixflow.crypto import keyring
from nixflow.store import mail_oauth
from tests.conftest import Harness, User, not_running
from tests.smtp_server import Inbox, SmtpServer, free_port

CALLBACK = "/api/mail/oauth/callback"


def provider_url() -> str:
    url = os.environ.get("NIXFLOW_TEST_OAUTH_URL")
    if url is None:
        not_running("the OAuth2 provider")
    return url


def register_client(base_url: str) -> dict[str, str]:
    """A client of the provider for the NixFlow at `base_url`: its id and secret."""
    made = httpx.post(f"{provider_url()}/register", json={"redirect_uris": [f"{base_url}{CALLBACK}"]})
    made.raise_for_status()
    client: dict[str, str] = made.json()
    return client


async def add_mailbox(h: Harness, admin: User, address: str) -> dict[str, Any]:
    """An OAuth2 mailbox for `address` at the test provider, found by its discovery document."""
    client = register_client(h.nixflow.settings.base_url)
    body = {
        "address": address,
        "provider": "custom",
        "discovery_url": f"{provider_url()}/.well-known/openid-configuration",
        "scopes": "mail offline_access",
        **client,
    }
    made = await h.client.post("/api/mail/oauth/mailboxes", json=body, headers=admin.headers)
    assert made.status_code == 201, made.text
    mailbox: dict[str, Any] = made.json()
    return mailbox


async def consent(h: Harness, admin: User, mailbox_id: int, username: str) -> httpx.Response:
    """Start, allow on the provider's consent screen as `username`, and come back: the callback's answer."""
    started = await h.client.get("/api/mail/oauth/start", params={"mailbox_id": mailbox_id}, headers=admin.headers)
    assert started.status_code == 303, started.text
    async with httpx.AsyncClient() as browser:
        screen = await browser.get(started.headers["location"])
        assert screen.status_code == 200, screen.text
        form = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', screen.text))
        allowed = await browser.post(
            f"{provider_url()}/authorize", data={**form, "username": username, "decision": "allow"}
        )
    assert allowed.status_code == 302, allowed.text
    back = urlsplit(allowed.headers["location"])
    assert back.path == CALLBACK
    return await h.client.get(f"{CALLBACK}?{back.query}", headers=admin.headers)


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
    provider = provider_url()
    httpx.post(f"{provider}/revoke", data={"token": token}, auth=(client["client_id"], client["client_secret"]))


def refreshes() -> int:
    """How many refresh grants the provider has answered so far."""
    return int(httpx.get(f"{provider_url()}/stats").json()["refreshes"])


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
                f"{provider_url()}/introspect",
                data={"token": token},
                auth=(self.resource["client_id"], self.resource["client_secret"]),
            )
        info = answer.json()
        if info.get("active") and info.get("username") == user:
            self.signed_in.append(user)
            return AuthResult(success=True, auth_data=user)
        error = json.dumps({"status": "401", "schemes": "bearer", "scope": "mail"})
        await server.challenge_auth(error)  # XOAUTH2's error report; the client answers with an empty line
        return AuthResult(success=False, handled=False)  # aiosmtpd answers 535


@contextmanager
def oauth_smtp_server() -> Iterator[SmtpServer]:
    """A real SMTP server (aiosmtpd) requiring XOAUTH2 before MAIL (on loopback, without TLS: a test)."""
    inbox = OAuthInbox(register_client("http://resource.invalid"))
    server = SmtpServer(inbox, free_port())
    server.options = {"auth_require_tls": False}
    server.start()
    try:
        yield server
    finally:
        server.stop()
