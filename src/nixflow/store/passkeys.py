"""Passkeys in the database: each user's credentials and handle, and the single-use challenges handed out."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from nixflow.store.db import insert_returning_id, upsert
from nixflow.store.tables import passkey_challenges, passkey_users, passkeys

LISTED = (
    passkeys.c.id,
    passkeys.c.name,
    passkeys.c.transports,
    passkeys.c.created_at,
    passkeys.c.last_used_at,
)


def handle_of(conn: Connection, *, user_id: int) -> str | None:
    """The handle authenticators know the user by, if they have one yet."""
    return conn.execute(select(passkey_users.c.handle).where(passkey_users.c.user_id == user_id)).scalar()


def keep_handle(conn: Connection, *, user_id: int, handle: str) -> str:
    """The user's handle: the one they have, else `handle`, stored now."""
    conn.execute(upsert(conn, passkey_users).values(user_id=user_id, handle=handle).on_conflict_do_nothing())
    return str(handle_of(conn, user_id=user_id))


def user_of_handle(conn: Connection, *, handle: str) -> int | None:
    """Whose handle it is."""
    return conn.execute(select(passkey_users.c.user_id).where(passkey_users.c.handle == handle)).scalar()


def listed(conn: Connection, *, user_id: int) -> list[dict[str, Any]]:
    """A user's passkeys, oldest first (never the key)."""
    rows = conn.execute(select(*LISTED).where(passkeys.c.user_id == user_id).order_by(passkeys.c.id))
    return [dict(r._mapping) for r in rows]


def credential_ids(conn: Connection, *, user_id: int) -> list[tuple[str, list[str]]]:
    """A user's credential ids with their transports."""
    rows = conn.execute(select(passkeys.c.credential_id, passkeys.c.transports).where(passkeys.c.user_id == user_id))
    return [(str(r.credential_id), list(r.transports)) for r in rows]


def by_credential(conn: Connection, *, credential_id: str) -> Any | None:
    """The passkey with that credential id (its owner, key and sign count), or None."""
    return conn.execute(select(passkeys).where(passkeys.c.credential_id == credential_id)).first()


def one(conn: Connection, *, passkey_id: int, user_id: int) -> dict[str, Any] | None:
    """One of the user's passkeys."""
    row = conn.execute(select(*LISTED).where(passkeys.c.id == passkey_id, passkeys.c.user_id == user_id)).first()
    return dict(row._mapping) if row is not None else None


def add(
    conn: Connection,
    *,
    user_id: int,
    credential_id: str,
    public_key: bytes,
    sign_count: int,
    transports: Sequence[str],
    name: str,
    now: datetime,
) -> int:
    """Store a verified credential; its id."""
    return insert_returning_id(
        conn,
        insert(passkeys).values(
            user_id=user_id,
            credential_id=credential_id,
            public_key=public_key,
            sign_count=sign_count,
            transports=list(transports),
            name=name,
            created_at=now,
        ),
    )


def used(conn: Connection, *, passkey_id: int, sign_count: int, now: datetime) -> None:
    """Record a verified use: the authenticator's new sign count, and when."""
    conn.execute(update(passkeys).where(passkeys.c.id == passkey_id).values(sign_count=sign_count, last_used_at=now))


def rename(conn: Connection, *, passkey_id: int, user_id: int, name: str) -> bool:
    """Rename one of the user's passkeys; whether it was theirs."""
    changed = conn.execute(
        update(passkeys).where(passkeys.c.id == passkey_id, passkeys.c.user_id == user_id).values(name=name)
    )
    return bool(changed.rowcount == 1)


def remove(conn: Connection, *, passkey_id: int, user_id: int) -> bool:
    """Delete one of the user's passkeys; whether it was theirs."""
    gone = conn.execute(delete(passkeys).where(passkeys.c.id == passkey_id, passkeys.c.user_id == user_id))
    return bool(gone.rowcount == 1)


def hand_out(
    conn: Connection, *, challenge: str, purpose: str, user_id: int | None, now: datetime, expires_at: datetime
) -> None:
    """Keep a challenge until it is used or expires (and forget the expired ones: sign-in options are public)."""
    conn.execute(delete(passkey_challenges).where(passkey_challenges.c.expires_at <= now))
    conn.execute(
        insert(passkey_challenges).values(challenge=challenge, purpose=purpose, user_id=user_id, expires_at=expires_at)
    )


def take(conn: Connection, *, challenge: str, purpose: str, user_id: int | None, now: datetime) -> bool:
    """Use up a challenge: true once for one handed out for this purpose (and user) that has not expired."""
    owner = passkey_challenges.c.user_id.is_(None) if user_id is None else passkey_challenges.c.user_id == user_id
    taken = conn.execute(
        delete(passkey_challenges).where(
            passkey_challenges.c.challenge == challenge,
            passkey_challenges.c.purpose == purpose,
            passkey_challenges.c.expires_at > now,
            owner,
        )
    )
    return bool(taken.rowcount == 1)
