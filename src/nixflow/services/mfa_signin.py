"""The second step of signing in: whether a person who proved who they are still owes a second factor, the
short-lived challenge that stands for them meanwhile, and the remembered device that spares them the code."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from nixflow.crypto import BadSecret, Keyring
from nixflow.domain import mfa
from nixflow.domain.mfa import Pending
from nixflow.domain.values import Role
from nixflow.services.users import Principal, principal_of
from nixflow.store import mfa as store
from nixflow.store.db import Tx

DEVICE_PURPOSE = "mfa-device"


@dataclass(frozen=True)
class Challenge:
    """A sign-in waiting for its second step: who, why, and how they proved who they are."""

    id: int
    user: Principal
    purpose: Pending
    method: str
    email: str | None


def pending(conn: Connection, *, keys: Keyring, user_id: int, device: str | None, now: datetime) -> Pending | None:
    """What the user still owes after the first step: a code (they have a factor, and this browser is not a
    remembered device), an enrolment (their role requires a factor they lack), or nothing."""
    row = store.user_factor(conn, user_id=user_id)
    if row is None:
        return None
    if row.confirmed_at is not None:
        days = store.policy(conn).remember_device_days
        if device and days and _remembered(keys, device, user_id, _fingerprint(keys, user_id, row), days, now):
            return None
        return Pending.VERIFY
    return Pending.ENROL if store.policy(conn).requires(Role(row.role)) else None


def open_challenge(tx: Tx, *, keys: Keyring, user_id: int, purpose: Pending, method: str, email: str | None) -> str:
    """A challenge for the user's second step; its token (returned once, stored as a keyed hash) opens only
    `/api/auth/mfa/*`, for `CHALLENGE_MINUTES`."""
    token = secrets.token_urlsafe(32)
    store.open_challenge(
        tx.conn,
        user_id=user_id,
        token_hash=keys.token_hash(token),
        purpose=purpose.value,
        method=method,
        email=email,
        created_at=tx.now,
        expires_at=tx.now + timedelta(minutes=mfa.CHALLENGE_MINUTES),
    )
    return token


def challenge(conn: Connection, *, keys: Keyring, token: str, now: datetime) -> Challenge | None:
    """The open challenge `token` stands for, if unexpired and its user still active."""
    row = store.challenge(conn, token_hashes=keys.token_hashes(token), now=now)
    if row is None or not row.active:
        return None
    user_row = store.user_factor(conn, user_id=row.user_id)
    if user_row is None:
        return None
    return Challenge(int(row.id), principal_of(user_row), Pending(row.purpose), row.method, row.email)


def finish(tx: Tx, *, challenge_id: int) -> bool:
    """End a challenge once its second step is done; False if it already ended (a parallel use won)."""
    return store.end_challenges(tx.conn, now=tx.now, challenge_id=challenge_id)


def remember_device(conn: Connection, *, keys: Keyring, user_id: int, now: datetime) -> tuple[str, int] | None:
    """The signed value of a remembered-device cookie for the user and how many days it lasts, or None when
    admins allow no remembered devices. It is bound to the user's password and factor: a password change or a
    reset of the factor voids it."""
    days = store.policy(conn).remember_device_days
    row = store.user_factor(conn, user_id=user_id)
    if not days or row is None or row.confirmed_at is None:
        return None
    return keys.sign(DEVICE_PURPOSE, f"{user_id}:{_fingerprint(keys, user_id, row)}", now=now), days


def _fingerprint(keys: Keyring, user_id: int, row: Any) -> str:
    """What a remembered device is bound to: the user, their password hash and when their factor was set up."""
    return keys.token_hash(f"{user_id}\n{row.password_hash or ''}\n{row.confirmed_at.isoformat()}")[:32]


def _remembered(keys: Keyring, device: str, user_id: int, fingerprint: str, days: int, now: datetime) -> bool:
    try:
        value = keys.unsign(DEVICE_PURPOSE, device, max_age=timedelta(days=days), now=now)
    except BadSecret:
        return False
    return secrets.compare_digest(value.encode(), f"{user_id}:{fingerprint}".encode())
