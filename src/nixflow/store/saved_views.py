"""Saved views as stored: one row each, and which of them a staff member may see."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, and_, delete, func, insert, or_, select, update

from nixflow.store.tables import category_agents, saved_views


def visible_to(conn: Connection, *, user_id: int, admin: bool, limit: int) -> list[dict[str, Any]]:
    """The views a staff member sees: their own personal ones, the teams' of their categories (an admin: every
    team's), and everyone's; personal first, then by name."""
    teams = select(category_agents.c.category_id).where(category_agents.c.user_id == user_id)
    team = saved_views.c.scope == "team"
    shared = or_(saved_views.c.scope == "everyone", team if admin else and_(team, saved_views.c.category_id.in_(teams)))
    mine = and_(saved_views.c.scope == "personal", saved_views.c.owner_id == user_id)
    personal_first = (saved_views.c.scope != "personal").label("shared")
    query = (
        select(saved_views)
        .where(or_(mine, shared))
        .order_by(personal_first, saved_views.c.name, saved_views.c.id)
        .limit(limit)
    )
    return [dict(r._mapping) for r in conn.execute(query)]


def get(conn: Connection, view_id: int) -> dict[str, Any] | None:
    """The view, or None."""
    row = conn.execute(select(saved_views).where(saved_views.c.id == view_id)).first()
    return dict(row._mapping) if row else None


def count_owned(conn: Connection, *, owner_id: int | None, shared: bool) -> int:
    """How many personal views `owner_id` has (`shared`: how many shared views there are in all)."""
    where = saved_views.c.scope != "personal" if shared else saved_views.c.owner_id == owner_id
    if not shared:
        where = and_(where, saved_views.c.scope == "personal")
    return int(conn.execute(select(func.count()).select_from(saved_views).where(where)).scalar_one())


def add(conn: Connection, values: Mapping[str, Any]) -> int:
    """Store a new view; its id."""
    return int(conn.execute(insert(saved_views).values(**values).returning(saved_views.c.id)).scalar_one())


def change(conn: Connection, view_id: int, values: Mapping[str, Any]) -> None:
    """Overwrite the view's columns in `values`."""
    conn.execute(update(saved_views).where(saved_views.c.id == view_id).values(**values))


def remove(conn: Connection, view_id: int) -> None:
    """Delete the view."""
    conn.execute(delete(saved_views).where(saved_views.c.id == view_id))
