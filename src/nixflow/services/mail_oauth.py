"""OAuth2 mailboxes (admin): set one up, send its admin to the provider's consent screen, take the grant back.

The consent is an authorization code flow with `state` and PKCE: the state (stored as a keyed hash) is good for
one answer, for the admin who asked, for ten minutes; the refresh token it yields is stored encrypted under
NIXFLOW_SECRET_KEY. Access tokens are the business of `mail_tokens`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx

from nixflow.crypto import Keyring
from nixflow.domain.envelope import EventContext
from nixflow.domain.errors import Conflict, DomainError, NotFound, ServiceUnavailable, ValidationFailed
from nixflow.domain.mail_providers import CUSTOM, PRESETS, Endpoints, authorization_params, preset_endpoints
from nixflow.services.mail_tokens import HTTP_TIMEOUT, OAuthError, oauth_client
from nixflow.store import mail_oauth as rows
from nixflow.store.db import Tx
from nixflow.store.writer import Writer

STATE_LIFETIME = timedelta(minutes=10)


class ConsentRefused(DomainError):
    """The answer from the consent screen cannot connect the mailbox; nothing changed."""

    title = "Mailbox not connected"


@dataclass(frozen=True)
class MailboxSpec:
    address: str
    provider: str
    client_id: str
    client_secret: str | None = None
    tenant: str | None = None
    scopes: str | None = None
    discovery_url: str | None = None
    authorization_endpoint: str | None = None
    token_endpoint: str | None = None


async def endpoints_for(spec: MailboxSpec) -> Endpoints:
    """Where the provider's consent screen and token endpoint are: a preset, the URLs given, or its discovery."""
    if spec.provider in PRESETS:
        return preset_endpoints(spec.provider, tenant=spec.tenant, scopes=spec.scopes)
    if not spec.scopes:
        raise ValidationFailed("scopes: a custom provider needs the scopes that allow IMAP and SMTP")
    if spec.discovery_url:
        return Endpoints(*await _discover(spec.discovery_url), spec.scopes)
    if spec.authorization_endpoint and spec.token_endpoint:
        return Endpoints(spec.authorization_endpoint, spec.token_endpoint, spec.scopes)
    raise ValidationFailed("a custom provider needs discovery_url, or authorization_endpoint and token_endpoint")


async def _discover(url: str) -> tuple[str, str]:
    """The authorization and token endpoints an OpenID/OAuth2 discovery document names."""
    try:
        async with httpx.AsyncClient(timeout=HTTP_TIMEOUT) as client:
            answer = await client.get(url)
            answer.raise_for_status()
            document = answer.json()
        return str(document["authorization_endpoint"]), str(document["token_endpoint"])
    except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
        raise ValidationFailed(f"discovery_url: not a discovery document with both endpoints ({exc})"[:300]) from None


def add(tx: Tx, *, spec: MailboxSpec, endpoints: Endpoints, keys: Keyring, by: int) -> dict[str, Any]:
    """A new mailbox, not connected yet (409 when the address has one)."""
    if rows.by_address(tx.conn, spec.address) is not None:
        raise Conflict(f"{spec.address} already has an OAuth2 mailbox")
    mailbox_id = rows.add(
        tx,
        {
            "address": spec.address,
            "provider": spec.provider if spec.provider in PRESETS else CUSTOM,
            "authorization_endpoint": endpoints.authorization_endpoint,
            "token_endpoint": endpoints.token_endpoint,
            "scopes": endpoints.scopes,
            "client_id": spec.client_id,
            "client_secret": keys.encrypt(spec.client_secret) if spec.client_secret else None,
            "created_by": by,
        },
    )
    return _emit_change(tx, "mailbox.added", mailbox_id, by)


def get(tx_or_conn: Any, mailbox_id: int) -> Any:
    """A mailbox's row; NotFound when there is none."""
    row = rows.by_id(tx_or_conn, mailbox_id)
    if row is None:
        raise NotFound(f"OAuth2 mailbox {mailbox_id} not found")
    return row


def remove(tx: Tx, *, mailbox_id: int, by: int) -> None:
    """Forget a mailbox and its tokens (the grant stays at the provider until revoked there)."""
    _emit_change(tx, "mailbox.removed", mailbox_id, by)
    rows.remove(tx, mailbox_id)


def _emit_change(tx: Tx, event_type: str, mailbox_id: int, by: int) -> dict[str, Any]:
    """Emit `event_type` about the mailbox as it is now, and return what an admin may read of it."""
    row = get(tx.conn, mailbox_id)
    tx.emit(
        event_type,
        aggregate_type="mailbox",
        aggregate_id=mailbox_id,
        data={"mailbox_id": mailbox_id, "address": row.address, "provider": row.provider, "by_id": by},
    )
    return rows.public(row)


def begin(tx: Tx, *, mailbox_id: int, keys: Keyring, by: int, redirect_uri: str) -> str:
    """The consent screen's URL for this admin, with a new state and PKCE challenge (the earlier one ends)."""
    row = get(tx.conn, mailbox_id)
    state, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(48)
    url, _state = oauth_client(row, keys, redirect_uri=redirect_uri).create_authorization_url(
        row.authorization_endpoint, state=state, code_verifier=verifier, **authorization_params(row.provider)
    )
    rows.set_pending(
        tx,
        mailbox_id,
        state_hash=keys.token_hash(state),
        verifier=keys.encrypt(verifier),
        by=by,
        until=tx.now + STATE_LIFETIME,
    )
    return str(url)


@dataclass(frozen=True)
class ConsentAnswer:
    state: str
    code: str | None
    error: str | None


def _take_state(tx: Tx, keys: Keyring, state: str, by: int) -> Any:
    """The mailbox this admin's live state was made for, which forgets it (a replayed state finds nothing)."""
    row = rows.take_pending(tx, keys.token_hashes(state))
    if row is None or row.pending_by != by or row.pending_until <= tx.now:
        return None
    return row


async def finish(
    *, writer: Writer, keys: Keyring, answer: ConsentAnswer, by: int, redirect_uri: str, ctx: EventContext
) -> dict[str, Any]:
    """Take the consent screen's answer: the code becomes a stored refresh token, and the mailbox is connected."""
    row = await writer.run(lambda tx: _take_state(tx, keys, answer.state, by), ctx)
    if row is None:
        raise ConsentRefused("unknown, used or expired state: start again from /api/mail/oauth/start")
    if answer.error or not answer.code:
        raise ConsentRefused(f"the provider answered {answer.error or 'without a code'}"[:300])
    client = oauth_client(row, keys, redirect_uri=redirect_uri)
    try:
        async with client:
            token = await client.fetch_token(
                row.token_endpoint, code=answer.code, code_verifier=keys.decrypt(row.pending_verifier)
            )
    except OAuthError as exc:
        raise ConsentRefused(f"the provider refused the code: {exc.error}"[:300]) from None
    except httpx.HTTPError as exc:
        raise ServiceUnavailable(f"the provider's token endpoint is unreachable: {type(exc).__name__}") from None
    if not token.get("refresh_token"):
        raise ConsentRefused("the provider gave no refresh token: allow offline access (see the scopes)")
    refresh_token = keys.encrypt(str(token["refresh_token"]))

    def connect(tx: Tx) -> dict[str, Any]:
        rows.connect(tx, row.id, refresh_token=refresh_token)
        return _emit_change(tx, "mailbox.connected", row.id, by)

    connected: dict[str, Any] = await writer.run(connect, ctx)
    return connected
