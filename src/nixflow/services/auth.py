"""Passwords, sessions and API tokens."""

from __future__ import annotations

import functools
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pwdlib import PasswordHash
from sqlalchemy import Connection, delete, func, insert, select, update

from nixflow.crypto import Keyring
from nixflow.domain.errors import NotFound
from nixflow.services import reset_links
from nixflow.services.sessions import Origin
from nixflow.services.users import Principal, principal_of
from nixflow.store.db import Tx, insert_returning_id
from nixflow.store.tables import SYSTEM_USER_ID, api_tokens, login_attempts, users

_hasher = PasswordHash.recommended()


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the email is unknown, so both failures take the same time. Made on first use, not at
    import: an argon2 hash is about 0.2 s of CPU, which every `nixflow` command would pay."""
    return _hasher.hash("nixflow-timing-equaliser")


MIN_PASSWORD = 8


def hash_password(password: str) -> str:
    """An argon2 hash of a password."""
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    """Whether `password` matches; constant work whether or not there is a hash."""
    if password_hash is None:
        _hasher.verify(password, _dummy_hash())
        return False
    return _hasher.verify(password, password_hash)


@dataclass(frozen=True)
class IssuedToken:
    id: int
    token: str
    csrf: str


def issue_token(
    tx: Tx, *, keys: Keyring, user_id: int, kind: str, lifetime: timedelta | None, origin: Origin | None = None
) -> IssuedToken:
    """Create a session or API token (asked for from `origin`, if over HTTP); the plain token is returned once and
    stored only as a keyed hash."""
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(24)
    token_id = insert_returning_id(
        tx.conn,
        insert(api_tokens).values(
            user_id=user_id,
            token_hash=keys.token_hash(token),
            kind=kind,
            csrf_hash=keys.token_hash(csrf),
            created_at=tx.now,
            expires_at=tx.now + lifetime if lifetime else None,
            created_address=origin.address if origin else None,
            created_agent=origin.agent if origin else None,
        ),
    )
    if kind == "session":
        tx.emit("user.login", aggregate_type="user", aggregate_id=user_id, data={"user_id": user_id})
    else:
        tx.emit(
            "user.token_created",
            aggregate_type="user",
            aggregate_id=user_id,
            data={"user_id": user_id, "token_id": token_id},
        )
    return IssuedToken(int(token_id), token, csrf)


@dataclass(frozen=True)
class Authenticated:
    principal: Principal
    token_id: int
    kind: str
    csrf_hash: str | None
    expires_at: datetime | None = None


def authenticate(conn: Connection, *, keys: Keyring, token: str, now: datetime) -> Authenticated | None:
    """The user a bearer token or session cookie belongs to, if it is valid and the user active."""
    return _authenticated(conn, api_tokens.c.token_hash.in_(keys.token_hashes(token)), now)


def authenticate_id(conn: Connection, *, token_id: int, now: datetime) -> Authenticated | None:
    """`authenticate` for a credential known by its id (a WebSocket ticket stands for one)."""
    return _authenticated(conn, api_tokens.c.id == token_id, now)


def _authenticated(conn: Connection, which: Any, now: datetime) -> Authenticated | None:
    row = conn.execute(
        select(
            users,
            api_tokens.c.id.label("token_id"),
            api_tokens.c.kind,
            api_tokens.c.csrf_hash,
            api_tokens.c.expires_at,
            api_tokens.c.revoked_at,
        )
        .join(api_tokens, api_tokens.c.user_id == users.c.id)
        .where(which)
    ).first()
    if row is None or row.revoked_at is not None or not row.active or row.id == SYSTEM_USER_ID:
        return None
    if row.expires_at is not None and row.expires_at <= now:
        return None
    return Authenticated(principal_of(row), int(row.token_id), row.kind, row.csrf_hash, row.expires_at)


def revoke(tx: Tx, *, token_id: int, user_id: int) -> None:
    """End a session or revoke an API token of `user_id`, at once."""
    result = tx.conn.execute(
        update(api_tokens)
        .where(api_tokens.c.id == token_id, api_tokens.c.user_id == user_id, api_tokens.c.revoked_at.is_(None))
        .values(revoked_at=tx.now)
    )
    if result.rowcount != 1:
        raise NotFound(f"token {token_id} not found or already revoked")
    kind = tx.conn.execute(select(api_tokens.c.kind).where(api_tokens.c.id == token_id)).scalar()
    if kind == "session":
        tx.emit("user.logout", aggregate_type="user", aggregate_id=user_id, data={"user_id": user_id})
    else:
        tx.emit(
            "user.token_revoked",
            aggregate_type="user",
            aggregate_id=user_id,
            data={"user_id": user_id, "token_id": token_id},
        )


def set_password(
    tx: Tx,
    *,
    user_id: int,
    password_hash: str,
    keep_session_id: int | None = None,
    announce: bool = True,
) -> int:
    """Store a new password hash and end the user's sessions (all but `keep_session_id`) and open reset links;
    API tokens stay.

    Emits `user.password_changed` (unless `announce` is false: a caller with its own event, a reset link's);
    returns how many sessions ended.
    """
    tx.conn.execute(update(users).where(users.c.id == user_id).values(password_hash=password_hash, updated_at=tx.now))
    sessions = [
        api_tokens.c.user_id == user_id,
        api_tokens.c.kind == "session",
        api_tokens.c.revoked_at.is_(None),
    ]
    if keep_session_id is not None:
        sessions.append(api_tokens.c.id != keep_session_id)
    ended = int(tx.conn.execute(update(api_tokens).where(*sessions).values(revoked_at=tx.now)).rowcount)
    reset_links.end_open_links(tx, user_id=user_id, outcome="password_changed")
    if announce:
        by = {"user_id": user_id, "by_id": tx.ctx.actor_id}
        tx.emit("user.password_changed", aggregate_type="user", aggregate_id=user_id, data=by)
    return ended


def record_login_failure(tx: Tx, *, email: str, user_id: int | None, reason: str) -> None:
    """Log `user.login_failed` (never the password)."""
    tx.emit(
        "user.login_failed",
        aggregate_type="user",
        aggregate_id=user_id if user_id is not None else "unknown",
        data={"email": email[:254], "reason": reason},
    )


def list_tokens(conn: Connection, *, user_id: int) -> list[dict[str, Any]]:
    """A user's tokens, ended ones too, with where they were created and last used (never the secret)."""
    rows = conn.execute(
        select(
            api_tokens.c.id,
            api_tokens.c.kind,
            api_tokens.c.created_at,
            api_tokens.c.expires_at,
            api_tokens.c.revoked_at,
            api_tokens.c.created_address,
            api_tokens.c.created_agent,
            api_tokens.c.last_used_at,
            api_tokens.c.last_address,
            api_tokens.c.last_agent,
        )
        .where(api_tokens.c.user_id == user_id)
        .order_by(api_tokens.c.id)
    )
    return [dict(r._mapping) for r in rows]


@dataclass(frozen=True)
class LoginLimits:
    per_email: int
    per_address: int
    window: timedelta


def reserve_login_attempt(
    tx: Tx, *, email: str, address: str, limits: LoginLimits, purpose: str = "login"
) -> int | None:
    """Count this attempt against its email and address; the seconds to wait if either is over its limit.

    `purpose` keeps separate counts for separate doors: sign-in (`login`) and reset links (`password_reset`).

    The attempt is recorded before the password is checked, so parallel guesses cannot slip past the limit;
    a successful login clears the email's attempts (`clear_login_attempts`); older ones only stop counting,
    and the hourly housekeeping deletes them.
    """
    since = tx.now - limits.window
    for column, value, limit in (
        (login_attempts.c.email, email, limits.per_email),
        (login_attempts.c.address, address, limits.per_address),
    ):
        count, oldest = tx.conn.execute(
            select(func.count(), func.min(login_attempts.c.at)).where(
                column == value, login_attempts.c.purpose == purpose, login_attempts.c.at > since
            )
        ).one()
        if count >= limit:
            wait: datetime = oldest + limits.window
            return max(1, math.ceil((wait - tx.now).total_seconds()))
    tx.conn.execute(insert(login_attempts).values(email=email, address=address, at=tx.now, purpose=purpose))
    return None


def clear_login_attempts(tx: Tx, *, email: str, purpose: str = "login") -> None:
    """Forget an email's failed attempts after it signed in (`purpose` as in `reserve_login_attempt`)."""
    tx.conn.execute(delete(login_attempts).where(login_attempts.c.email == email, login_attempts.c.purpose == purpose))
