"""Local passwords turned off per role (staff only through the directory or single sign-on), and the break-glass
admins who keep theirs: at most MAX_BREAK_GLASS, and while admins' local passwords are off at least one of them,
active and with a password, always remains."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection

from nixflow.domain.errors import Conflict, ValidationFailed
from nixflow.domain.values import Role
from nixflow.services import users
from nixflow.services.users import HUMAN_ROLES, Principal, require_admin
from nixflow.store import local_passwords as rows
from nixflow.store.db import Tx

MAX_BREAK_GLASS = 3
NEEDS_BREAK_GLASS = (
    "local passwords cannot be turned off for admins without a break-glass admin who keeps one: mark an active "
    "admin with a password as break-glass first"
)


def refusal(role: str) -> str:
    """What a person of `role` is told when they sign in, or ask for a reset link, with a local password."""
    return (
        f"local passwords are turned off for {role}s: sign in with your organization's account "
        "(directory or single sign-on)"
    )


def allows(conn: Connection, *, user_id: int, role: str) -> bool:
    """Whether this user may sign in with a local password: their role's are on, or they are a break-glass admin."""
    if role not in rows.roles_off(conn):
        return True
    return role == Role.ADMIN.value and rows.is_break_glass(conn, user_id=user_id)


def read(conn: Connection) -> dict[str, Any]:
    """Per role whether local passwords are on, and the break-glass admins' ids."""
    off = rows.roles_off(conn)
    return {role.value: role.value not in off for role in HUMAN_ROLES} | {"break_glass_ids": rows.break_glass_ids(conn)}


def set_roles(tx: Tx, *, actor: Principal, allowed: Mapping[str, bool]) -> dict[str, Any]:
    """Turn local passwords on or off per role (admins); the roles left out keep their setting. Conflict when
    admins' would go off with no break-glass admin to keep one. Emits `user.local_passwords_changed`."""
    require_admin(actor)
    unknown = sorted(set(allowed) - {r.value for r in HUMAN_ROLES})
    if unknown:
        raise ValidationFailed(f"unknown role {unknown[0]!r}")
    before = rows.roles_off(tx.conn)
    off = frozenset(r for r in before if r not in allowed) | frozenset(r for r, on in allowed.items() if not on)
    if off == before:
        return read(tx.conn)
    if Role.ADMIN.value in off and rows.local_admins(tx.conn) == 0:
        raise Conflict(NEEDS_BREAK_GLASS)
    rows.set_roles_off(tx.conn, off=off, now=tx.now)
    data = {"off": sorted(off), "by_id": actor.id}
    tx.emit("user.local_passwords_changed", aggregate_type="user", aggregate_id=actor.id, data=data)
    return read(tx.conn)


def mark(tx: Tx, *, actor: Principal, user_id: int) -> dict[str, Any]:
    """Mark an active admin break-glass (admins): they keep a local password whatever the policy. Conflict past
    MAX_BREAK_GLASS. Emits `user.break_glass_marked`."""
    require_admin(actor)
    user = users.get_user(tx.conn, user_id=user_id)
    if user["role"] != Role.ADMIN.value or not user["active"]:
        raise Conflict("only an active admin can be a break-glass admin")
    if rows.is_break_glass(tx.conn, user_id=user_id):
        return read(tx.conn)
    if rows.count_marked(tx.conn) >= MAX_BREAK_GLASS:
        raise Conflict(f"at most {MAX_BREAK_GLASS} admins can be break-glass: unmark one first")
    rows.mark(tx.conn, user_id=user_id, now=tx.now)
    _emit(tx, "user.break_glass_marked", user_id)
    return read(tx.conn)


def unmark(tx: Tx, *, actor: Principal, user_id: int) -> dict[str, Any]:
    """Take the break-glass mark off a user (admins). Conflict when they are the last one while admins' local
    passwords are off. Emits `user.break_glass_unmarked`."""
    require_admin(actor)
    users.get_user(tx.conn, user_id=user_id)
    if not rows.is_break_glass(tx.conn, user_id=user_id):
        return read(tx.conn)
    users.keep_a_local_admin(tx.conn, leaving=user_id)
    rows.unmark(tx.conn, user_id=user_id)
    _emit(tx, "user.break_glass_unmarked", user_id)
    return read(tx.conn)


def _emit(tx: Tx, event_type: str, user_id: int) -> None:
    data = {"user_id": user_id, "by_id": tx.ctx.actor_id}
    tx.emit(event_type, aggregate_type="user", aggregate_id=user_id, data=data)
