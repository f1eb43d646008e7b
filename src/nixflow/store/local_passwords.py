"""Which roles may sign in with a local password, and the break-glass admins who always may."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, delete, func, insert, select

from nixflow.domain.values import Role
from nixflow.store.tables import break_glass_admins, local_passwords_off, users


def roles_off(conn: Connection) -> frozenset[str]:
    """The roles whose local passwords are turned off."""
    return frozenset(conn.execute(select(local_passwords_off.c.role)).scalars())


def set_roles_off(conn: Connection, *, off: frozenset[str], now: datetime) -> None:
    """Turn local passwords off for exactly `off`."""
    conn.execute(delete(local_passwords_off).where(local_passwords_off.c.role.not_in(off)))
    have = roles_off(conn)
    for role in sorted(off - have):
        conn.execute(insert(local_passwords_off).values(role=role, since=now))


def break_glass_ids(conn: Connection) -> list[int]:
    """The users marked break-glass, by id."""
    query = select(break_glass_admins.c.user_id).order_by(break_glass_admins.c.user_id)
    return [int(i) for i in conn.execute(query).scalars()]


def is_break_glass(conn: Connection, *, user_id: int) -> bool:
    found = conn.execute(select(break_glass_admins.c.user_id).where(break_glass_admins.c.user_id == user_id)).first()
    return found is not None


def mark(conn: Connection, *, user_id: int, now: datetime) -> None:
    conn.execute(insert(break_glass_admins).values(user_id=user_id, marked_at=now))


def unmark(conn: Connection, *, user_id: int) -> None:
    conn.execute(delete(break_glass_admins).where(break_glass_admins.c.user_id == user_id))


def local_admins(conn: Connection, *, besides: int | None = None) -> int:
    """Active break-glass admins with a password (other than `besides`): who can still sign in locally when admins'
    local passwords are off. Locked (PostgreSQL), so two changes at once cannot both take the last one away."""
    query = (
        select(users.c.id)
        .join(break_glass_admins, break_glass_admins.c.user_id == users.c.id)
        .where(users.c.role == Role.ADMIN.value, users.c.active.is_(True), users.c.password_hash.is_not(None))
        .with_for_update()
    )
    if besides is not None:
        query = query.where(users.c.id != besides)
    return len(conn.execute(query).all())


def count_marked(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(break_glass_admins)).scalar_one())
