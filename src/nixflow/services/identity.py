"""Signing in through an identity provider (OpenID Connect, SAML, LDAP alike): who the provider's person is here.

`sign_in_federated` is the one way a provider's answer becomes a user: the subject's link, else an existing
account with the same *verified* address, else a new account (just in time); then the provider's group -> role
mapping, re-applied at every sign-in. The caller then starts the session (`api.routes.auth.start_session`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from nixflow.domain.errors import Forbidden, ValidationFailed
from nixflow.domain.identity import parse_role_mapping, role_for
from nixflow.domain.values import Role
from nixflow.services import users
from nixflow.store import identity as rows
from nixflow.store.db import Tx
from nixflow.store.tables import SYSTEM_USER_ID

MAX_SUBJECT = 255
UNVERIFIED = (
    "the identity provider does not vouch for this email address, so NixFlow neither links it to an account "
    "nor creates one with it"
)


def sign_in_federated(
    tx: Tx,
    *,
    provider: Mapping[str, Any],
    subject: str,
    email: str | None,
    email_verified: bool,
    name: str | None,
    groups: Iterable[str],
) -> int:
    """The id of the user the provider says signed in, linked or created as needed, with the role its mapping
    gives `groups`. Forbidden (nothing changes) for a deactivated account, or an address the provider does not
    vouch for where a link would be made by it. Emits `user.created`, `user.identity_linked`, `user.role_changed`
    for what it does."""
    if not provider["enabled"]:
        raise Forbidden(f"identity provider {provider['slug']!r} is disabled")
    if not subject or len(subject) > MAX_SUBJECT:
        raise ValidationFailed(f"the provider's subject must be 1-{MAX_SUBJECT} characters")
    mapping = parse_role_mapping(provider["role_mapping"])
    role = role_for(mapping, groups)
    provider_id = int(provider["id"])
    user_id = rows.linked_user(tx.conn, provider_id=provider_id, subject=subject)
    if user_id is None:
        user_id = _link(tx, provider, subject, email, email_verified, name, role or Role(mapping.default_role))
    else:
        _require_active(tx, user_id)
        rows.signed_in(tx.conn, provider_id=provider_id, subject=subject, at=tx.now)
    if role is not None and users.get_user(tx.conn, user_id=user_id)["role"] != role.value:
        users.update_user(tx, user_id=user_id, changes={"role": role})
    return user_id


def _link(
    tx: Tx,
    provider: Mapping[str, Any],
    subject: str,
    email: str | None,
    email_verified: bool,
    name: str | None,
    role: Role,
) -> int:
    """Link the subject to the account of its verified address, or to a new account of `role`: the id."""
    if not email:
        raise Forbidden("the identity provider gave no email address for this person")
    if not email_verified:
        raise Forbidden(UNVERIFIED)
    existing = users.find_by_email(tx.conn, email=email)
    if existing is not None:
        user_id = int(existing.id)
        _require_active(tx, user_id)
        via = "email"
    else:
        made = users.create_user(tx, email=email, name=_display_name(name, email), role=role, password_hash=None)
        user_id = int(made["id"])
        via = "created"
    rows.link(tx.conn, user_id=user_id, provider_id=int(provider["id"]), subject=subject, at=tx.now)
    tx.emit(
        "user.identity_linked",
        aggregate_type="user",
        aggregate_id=user_id,
        data={"user_id": user_id, "provider_id": int(provider["id"]), "provider_slug": provider["slug"], "via": via},
    )
    return user_id


def _require_active(tx: Tx, user_id: int) -> None:
    if user_id == SYSTEM_USER_ID or not users.get_user(tx.conn, user_id=user_id)["active"]:
        raise Forbidden("this account is deactivated")


def _display_name(name: str | None, email: str) -> str:
    cleaned = (name or "").strip()
    return (cleaned or email.split("@", 1)[0])[:200]
