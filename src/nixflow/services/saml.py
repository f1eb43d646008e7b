"""SAML sign-in as units of work: the SP's key pair (made once, stored encrypted), the outstanding requests, and what
a verified assertion says about the person (`saml_sp` does the protocol, `identity` the accounts)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection

from nixflow.crypto import Keyring
from nixflow.domain.identity import SamlConfig, parse_role_mapping
from nixflow.services import identity
from nixflow.services.saml_sp import REQUEST_LIFETIME, Assertion, KeyPair, SamlRefused
from nixflow.store import saml
from nixflow.store.db import Tx


def stored_keys(conn: Connection, *, keys: Keyring) -> KeyPair | None:
    """The SP's key pair, if it was made."""
    stored = saml.sp_keys(conn)
    if stored is None:
        return None
    certificate, private_key = stored
    return KeyPair(private_key=keys.decrypt(private_key), certificate=certificate)


def keep_keys(tx: Tx, *, keys: Keyring, made: KeyPair) -> KeyPair:
    """Store `made` as the SP's key pair unless one is there already; the one that is kept."""
    saml.keep_sp_keys(tx.conn, certificate=made.certificate, private_key=keys.encrypt(made.private_key), now=tx.now)
    kept = stored_keys(tx.conn, keys=keys)
    assert kept is not None
    return kept


def remember_request(tx: Tx, *, provider_id: int, request_id: str, next_path: str) -> None:
    """Keep a sent AuthnRequest's id: its answer is accepted once, within `REQUEST_LIFETIME`."""
    saml.remember_request(
        tx.conn,
        request_id=request_id,
        provider_id=provider_id,
        next_path=next_path,
        expires_at=tx.now + REQUEST_LIFETIME,
        now=tx.now,
    )


def take_request(tx: Tx, *, provider_id: int, request_id: str | None) -> str:
    """Consume the request a Response answers; its `next` path. Refused if none of ours is waiting for it."""
    next_path = None
    if request_id:
        next_path = saml.take_request(tx.conn, request_id=request_id, provider_id=provider_id, now=tx.now)
    if next_path is None:
        raise SamlRefused("the response answers no sign-in this service provider is waiting for (InResponseTo)")
    return next_path


def sign_in(tx: Tx, *, provider: Mapping[str, Any], config: SamlConfig, assertion: Assertion) -> int:
    """The user a verified assertion names, linked, created and given their role by `sign_in_federated`."""
    email = assertion.first(config.email_attribute)
    return identity.sign_in_federated(
        tx,
        provider=provider,
        subject=assertion.subject,
        email=email.strip().lower() if email else None,
        email_verified=config.email_verified,
        name=assertion.first(config.name_attribute),
        groups=assertion.attributes.get(parse_role_mapping(provider["role_mapping"]).claim, []),
    )
