"""Administering people: finding them, and what deactivating one does (shown first, then done in one unit).

Deactivating a user ends every session and API token they hold. Their open tickets (new, open, pending) are
handed on as NixFlow always has for someone who leaves: the departures handler (`automation/engine.py`,
`reassign_departed`) reacts to `user.deactivated` in the same unit of work, unassigns each and lets the
assignment rules pick someone else (round-robin in the ticket's category), or leaves it in the Unassigned queue
where no rule assigns it. Their category memberships stay (inactive users are never picked by round-robin), so
reactivating restores them as they were.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, func, or_, select

from nixflow.domain.tickets import OPEN_STATUSES
from nixflow.domain.values import Role
from nixflow.services import sessions, users
from nixflow.store.db import Tx
from nixflow.store.tables import SYSTEM_USER_ID, api_tokens, categories, category_agents
from nixflow.store.tables import tickets as tickets_table
from nixflow.store.tables import users as users_table

PREVIEW_TICKETS = 50  # listed by the preview; the count covers them all


def search(
    conn: Connection,
    *,
    q: str | None = None,
    role: Role | None = None,
    active: bool | None = None,
    limit: int | None = None,
    after_id: int | None = None,
) -> tuple[list[dict[str, Any]], int | None]:
    """Users (never the system user) whose name or email contains `q`, by id; and the id to continue after."""
    clauses: list[Any] = [users_table.c.id != SYSTEM_USER_ID]
    if q:
        pattern = "%" + q.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        clauses.append(
            or_(
                func.lower(users_table.c.name).like(pattern, escape="\\"),
                users_table.c.email.like(pattern, escape="\\"),
            )
        )
    if role is not None:
        clauses.append(users_table.c.role == role.value)
    if active is not None:
        clauses.append(users_table.c.active.is_(active))
    if after_id is not None:
        clauses.append(users_table.c.id > after_id)
    query = select(users_table.c.id).where(and_(*clauses)).order_by(users_table.c.id)
    ids = [int(r[0]) for r in conn.execute(query if limit is None else query.limit(limit + 1))]
    more = limit is not None and len(ids) > limit
    page = ids[:limit] if limit is not None else ids
    return [users.get_user(conn, user_id=i) for i in page], (page[-1] if more else None)


def _open_assigned(user_id: int) -> ColumnElement[bool]:
    """The user's open (new, open, pending) tickets: what a deactivation unassigns."""
    return and_(
        tickets_table.c.assignee_id == user_id,
        tickets_table.c.status.in_([s.value for s in OPEN_STATUSES]),
    )


def _live_tokens(conn: Connection, user_id: int, now: datetime) -> dict[str, int]:
    rows = conn.execute(
        select(api_tokens.c.kind, func.count())
        .where(
            api_tokens.c.user_id == user_id,
            api_tokens.c.revoked_at.is_(None),
            or_(api_tokens.c.expires_at.is_(None), api_tokens.c.expires_at > now),
        )
        .group_by(api_tokens.c.kind)
    )
    found = {str(r[0]): int(r[1]) for r in rows}
    return {"sessions": found.get("session", 0), "api_tokens": found.get("api", 0)}


def deactivation_preview(conn: Connection, *, user_id: int, now: datetime) -> dict[str, Any]:
    """What deactivating the user would do, without doing it."""
    user = users.get_user(conn, user_id=user_id)
    assigned = _open_assigned(user_id)
    count = int(conn.execute(select(func.count()).where(assigned)).scalar_one())
    listed = conn.execute(
        select(tickets_table.c.id, tickets_table.c.title, tickets_table.c.status, tickets_table.c.priority)
        .where(assigned)
        .order_by(tickets_table.c.id)
        .limit(PREVIEW_TICKETS)
    )
    in_categories = conn.execute(
        select(categories.c.id, categories.c.name)
        .join(category_agents, category_agents.c.category_id == categories.c.id)
        .where(category_agents.c.user_id == user_id)
        .order_by(categories.c.name)
    )
    return {
        "user_id": user_id,
        "name": user["name"],
        "active": user["active"],
        "open_tickets": count,
        "tickets": [dict(r._mapping) for r in listed],
        "tickets_become": "reassigned",
        "categories": [dict(r._mapping) for r in in_categories],
        **_live_tokens(conn, user_id, now),
        "blocked": _blocked(conn, user),
    }


def _blocked(conn: Connection, user: dict[str, Any]) -> str | None:
    """Why the user cannot be deactivated, if they cannot."""
    if user["role"] != Role.ADMIN.value or not user["active"]:
        return None
    admins = conn.execute(
        select(func.count()).where(users_table.c.role == Role.ADMIN.value, users_table.c.active.is_(True))
    ).scalar_one()
    return "this is the last active admin: make another user an admin first" if admins <= 1 else None


def update(tx: Tx, *, user_id: int, changes: dict[str, Any]) -> dict[str, Any]:
    """Change a user (`users.update_user`); a deactivation also ends their access, in the same unit of work as
    the departures handler hands their open tickets on, as `deactivation_preview` said."""
    was_active = users.get_user(tx.conn, user_id=user_id)["active"]
    after = users.update_user(tx, user_id=user_id, changes=changes)
    if was_active and not after["active"]:
        sessions.end_and_emit(tx, "user.access_ended", user_id=user_id)
    return after
