"""Access tokens of OAuth2 mailboxes, for the poller and the sender: refreshed before they expire, kept in memory.

A refresh the provider refuses with `invalid_grant` (the grant was revoked, or expired) pauses the mailbox: an
event (`mailbox.paused`, which admins are told of), and no more sign-ins until an admin reconnects it. Nothing is
lost meanwhile: unread mail stays unread on the server, notifications stay queued in the outbox.
"""

from __future__ import annotations

import asyncio
import logging
import warnings
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from authlib.deprecate import AuthlibDeprecationWarning

from nixflow.crypto import Keyring
from nixflow.domain.envelope import EventContext
from nixflow.domain.errors import ServiceUnavailable
from nixflow.mailwire.sasl import OAuthLogin
from nixflow.store import mail_oauth as rows
from nixflow.store.db import Clock, Database, Tx
from nixflow.store.tables import SYSTEM_USER_ID
from nixflow.store.writer import Writer

with warnings.catch_warnings():  # authlib prefers `httpx2`, and falls back to httpx with a warning
    warnings.simplefilter("ignore", AuthlibDeprecationWarning)
    from authlib.integrations.httpx_client import AsyncOAuth2Client
    from authlib.integrations.httpx_client import OAuthError as OAuthError

log = logging.getLogger(__name__)

MARGIN = timedelta(minutes=5)  # a token this close to its expiry is refreshed before use (a fifth of a short one)
HTTP_TIMEOUT = 10.0
_CTX = EventContext(correlation_id="mail-oauth", actor_id=SYSTEM_USER_ID, source="mail.oauth")


class MailboxPaused(Exception):
    """The mailbox cannot sign in until an admin connects it (again): its mail waits."""


def oauth_client(row: Any, keys: Keyring, *, redirect_uri: str | None = None) -> Any:
    """An authlib OAuth2 client for a mailbox's provider (PKCE S256; the secret, if any, by HTTP Basic)."""
    secret = keys.decrypt(row.client_secret) if row.client_secret else None
    return AsyncOAuth2Client(
        client_id=row.client_id,
        client_secret=secret,
        scope=row.scopes,
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic" if secret else "none",
        timeout=HTTP_TIMEOUT,
    )


@dataclass(frozen=True)
class _Held:
    token: str
    refresh_at: datetime  # before it expires, so no sign-in starts with a token about to lapse
    grant_version: int


class MailTokens:
    """The access token each OAuth2 mailbox signs in with, in this process's memory only."""

    def __init__(self, *, db: Database, writer: Writer, keys: Keyring, clock: Clock) -> None:
        self.db = db
        self.writer = writer
        self.keys = keys
        self.clock = clock
        self._held: dict[str, _Held] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def login_for(self, address: str) -> OAuthLogin:
        """A valid access token for `address`; MailboxPaused when it is not (or no longer) connected."""
        row = await self.db.read(lambda conn: rows.by_address(conn, address))
        if row is None:
            raise MailboxPaused(f"no OAuth2 mailbox {address!r}: add and connect it (/api/mail/oauth/mailboxes)")
        if row.status != "connected":
            why = f": {row.paused_reason}" if row.paused_reason else ""
            raise MailboxPaused(f"OAuth2 mailbox {address} is {row.status.replace('_', ' ')}{why}")
        async with self._locks.setdefault(address, asyncio.Lock()):
            held = self._held.get(address)
            if held is None or held.grant_version != row.grant_version or held.refresh_at <= self.clock():
                held = await self._refresh(row)
                self._held[address] = held
            return OAuthLogin(address, held.token)

    def forget(self, address: str) -> None:
        """The server refused the token: the next `login_for` refreshes it."""
        self._held.pop(address, None)

    async def _refresh(self, row: Any) -> _Held:
        client = oauth_client(row, self.keys)
        current = self.keys.decrypt(row.refresh_token)
        try:
            async with client:
                token = await client.refresh_token(row.token_endpoint, refresh_token=current)
        except OAuthError as exc:
            if exc.error != "invalid_grant":
                raise ServiceUnavailable(
                    f"the provider refused a token refresh for {row.address}: {exc.error}"
                ) from None
            reason = f"the provider refused its grant (invalid_grant): reconnect it{_described(exc)}"
            await self.writer.run(lambda tx: pause(tx, row, reason=reason), _CTX)
            self._held.pop(row.address, None)
            raise MailboxPaused(f"OAuth2 mailbox {row.address} paused: {reason}") from None
        except httpx.HTTPError as exc:
            raise ServiceUnavailable(f"the provider's token endpoint is unreachable: {type(exc).__name__}") from None
        fresh = token.get("refresh_token")
        if fresh and fresh != current:
            encrypted = self.keys.encrypt(str(fresh))
            await self.writer.run(
                lambda tx: rows.rotate_refresh_token(
                    tx, row.id, grant_version=row.grant_version, refresh_token=encrypted
                ),
                _CTX,
            )
        lifetime = timedelta(seconds=float(token.get("expires_in") or 3600))
        log.info("OAuth2 mailbox %s: access token refreshed, valid for %s", row.address, lifetime)
        refresh_at = self.clock() + lifetime - min(MARGIN, lifetime / 5)
        return _Held(str(token["access_token"]), refresh_at, row.grant_version)


def _described(exc: Any) -> str:
    return f" ({str(exc.description)[:150]})" if getattr(exc, "description", None) else ""


def pause(tx: Tx, row: Any, *, reason: str) -> None:
    """Pause the mailbox of this grant and say so (`mailbox.paused`, never a token); nothing if it was reconnected."""
    if rows.pause(tx, row.id, grant_version=row.grant_version, reason=reason[:300]):
        tx.emit(
            "mailbox.paused",
            aggregate_type="mailbox",
            aggregate_id=row.id,
            data={"mailbox_id": row.id, "address": row.address, "reason": reason[:300]},
        )
