"""People known only by their address: the requester account without a password that an unknown mail sender,
or an address a requester CCs on their ticket, becomes."""

from __future__ import annotations

from nixflow.domain.values import Role
from nixflow.services import users
from nixflow.services.users import Principal
from nixflow.store.db import Tx

ADDRESS_LIMIT = 254  # the longest address (RFC 5321's path): what users.email and inbound_mail.sender hold


def refusal(email: str, allowed_domains: frozenset[str] | None) -> str | None:
    """Why `email` may not get an account of its own (`NIXFLOW_MAIL_ALLOW_DOMAINS`, the address syntax), or None."""
    domain = email.rpartition("@")[2]
    if allowed_domains is not None and domain not in allowed_domains:
        return f"{domain} is not in NIXFLOW_MAIL_ALLOW_DOMAINS"
    if len(email) > ADDRESS_LIMIT or not users.EMAIL.match(email):
        return f"{email} is not an address NixFlow accepts"
    return None


def create(tx: Tx, *, email: str, name: str) -> Principal:
    """A new requester without a password (they may set one with a reset link); emits `user.created`."""
    created = users.create_user(tx, email=email, name=name[:200] or email, role=Role.REQUESTER, password_hash=None)
    return Principal(id=int(created["id"]), role=Role.REQUESTER, email=created["email"], name=created["name"])
