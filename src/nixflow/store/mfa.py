"""Second-factor rows: a user's TOTP enrolment, their recovery codes, sign-ins waiting for a code, the policy."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, or_, select, update

from nixflow.domain.mfa import MfaPolicy
from nixflow.domain.values import Role
from nixflow.store.tables import mfa_challenges, mfa_policy, mfa_recovery_codes, mfa_totp, users


def policy(conn: Connection) -> MfaPolicy:
    """The roles that must have a second factor, and how long a device may be remembered."""
    row = conn.execute(select(mfa_policy).where(mfa_policy.c.id == 1)).one()
    return MfaPolicy(frozenset(Role(r) for r in row.required_roles), int(row.remember_device_days))


def set_policy(conn: Connection, value: MfaPolicy, now: datetime) -> None:
    """Replace the policy."""
    roles = sorted(r.value for r in value.required_roles)
    conn.execute(
        update(mfa_policy)
        .where(mfa_policy.c.id == 1)
        .values(required_roles=roles, remember_device_days=value.remember_device_days, updated_at=now)
    )


def totp(conn: Connection, *, user_id: int) -> Any | None:
    """The user's TOTP row (confirmed or waiting for its first code), or None."""
    return conn.execute(select(mfa_totp).where(mfa_totp.c.user_id == user_id)).first()


def user_factor(conn: Connection, *, user_id: int) -> Any | None:
    """The user (as `principal_of` reads it), their password hash and TOTP confirmation time (None: no factor),
    or None for no such user."""
    return conn.execute(
        select(
            users.c.id,
            users.c.role,
            users.c.email,
            users.c.name,
            users.c.can_approve,
            users.c.password_hash,
            users.c.active,
            mfa_totp.c.confirmed_at,
        )
        .outerjoin(mfa_totp, mfa_totp.c.user_id == users.c.id)
        .where(users.c.id == user_id)
    ).first()


def enrolled(conn: Connection) -> list[dict[str, Any]]:
    """Everyone with a confirmed second factor, by name: id, name, email, role and since when."""
    rows = conn.execute(
        select(users.c.id, users.c.name, users.c.email, users.c.role, mfa_totp.c.confirmed_at)
        .join(mfa_totp, mfa_totp.c.user_id == users.c.id)
        .where(mfa_totp.c.confirmed_at.is_not(None))
        .order_by(users.c.name, users.c.id)
    )
    return [dict(r._mapping) for r in rows]


def put_totp(conn: Connection, *, user_id: int, secret_sealed: str, now: datetime) -> None:
    """Start (or restart) an enrolment: a new secret, unconfirmed."""
    conn.execute(delete(mfa_totp).where(mfa_totp.c.user_id == user_id))
    conn.execute(insert(mfa_totp).values(user_id=user_id, secret_sealed=secret_sealed, created_at=now))


def accept_step(conn: Connection, *, user_id: int, step: int, confirm_at: datetime | None) -> bool:
    """Record `step` as the newest accepted one, only if it is newer than any before (no code works twice);
    with `confirm_at`, also confirm the enrolment."""
    values: dict[str, Any] = {"last_step": step}
    if confirm_at is not None:
        values["confirmed_at"] = confirm_at
    result = conn.execute(
        update(mfa_totp)
        .where(mfa_totp.c.user_id == user_id, or_(mfa_totp.c.last_step.is_(None), mfa_totp.c.last_step < step))
        .values(**values)
    )
    return int(result.rowcount) == 1


def remove_factor(conn: Connection, *, user_id: int) -> bool:
    """Delete the user's TOTP enrolment and recovery codes; whether there was a confirmed enrolment."""
    confirmed = conn.execute(
        delete(mfa_totp).where(mfa_totp.c.user_id == user_id, mfa_totp.c.confirmed_at.is_not(None))
    ).rowcount
    conn.execute(delete(mfa_totp).where(mfa_totp.c.user_id == user_id))
    conn.execute(delete(mfa_recovery_codes).where(mfa_recovery_codes.c.user_id == user_id))
    return int(confirmed) == 1


def replace_recovery_codes(conn: Connection, *, user_id: int, code_hashes: Sequence[str]) -> None:
    """The user's recovery codes become these (by their hashes); the old ones stop working."""
    conn.execute(delete(mfa_recovery_codes).where(mfa_recovery_codes.c.user_id == user_id))
    conn.execute(insert(mfa_recovery_codes), [{"user_id": user_id, "code_hash": h} for h in code_hashes])


def use_recovery_code(conn: Connection, *, user_id: int, code_hashes: Sequence[str], now: datetime) -> bool:
    """Mark the user's unused code with one of these hashes used; whether there was one (a used code never
    works again: two parallel uses, one wins)."""
    result = conn.execute(
        update(mfa_recovery_codes)
        .where(
            mfa_recovery_codes.c.user_id == user_id,
            mfa_recovery_codes.c.code_hash.in_(code_hashes),
            mfa_recovery_codes.c.used_at.is_(None),
        )
        .values(used_at=now)
    )
    return int(result.rowcount) == 1


def recovery_codes_left(conn: Connection, *, user_id: int) -> int:
    """How many of the user's recovery codes are unused."""
    return int(
        conn.execute(
            select(func.count()).where(mfa_recovery_codes.c.user_id == user_id, mfa_recovery_codes.c.used_at.is_(None))
        ).scalar_one()
    )


def open_challenge(conn: Connection, **values: Any) -> None:
    """Record a sign-in waiting for its second step."""
    conn.execute(insert(mfa_challenges).values(**values))


def challenge(conn: Connection, *, token_hashes: Sequence[str], now: datetime) -> Any | None:
    """The open, unexpired challenge with one of these token hashes, with its user's active flag."""
    return conn.execute(
        select(mfa_challenges, users.c.active)
        .join(users, users.c.id == mfa_challenges.c.user_id)
        .where(
            mfa_challenges.c.token_hash.in_(token_hashes),
            mfa_challenges.c.ended_at.is_(None),
            mfa_challenges.c.expires_at > now,
        )
    ).first()


def end_challenges(
    conn: Connection, *, now: datetime, challenge_id: int | None = None, user_id: int | None = None
) -> bool:
    """End one open challenge (whether it was still open: two parallel uses, one wins) or all of a user's."""
    which = mfa_challenges.c.id == challenge_id if challenge_id is not None else mfa_challenges.c.user_id == user_id
    result = conn.execute(update(mfa_challenges).where(which, mfa_challenges.c.ended_at.is_(None)).values(ended_at=now))
    return int(result.rowcount) >= 1
