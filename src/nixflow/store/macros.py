"""Canned replies and macros as stored (`macros`), and the categories whose team ones an agent sees."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, case, delete, false, func, insert, or_, select, update

from nixflow.store.db import insert_returning_id
from nixflow.store.tables import categories, category_agents, macros

PICKER_LIMIT = 50


def categories_of(conn: Connection, user_id: int) -> frozenset[int]:
    """The categories whose agents `user_id` is one of (their teams)."""
    rows = conn.execute(select(category_agents.c.category_id).where(category_agents.c.user_id == user_id))
    return frozenset(int(c) for c in rows.scalars())


def category_exists(conn: Connection, category_id: int) -> bool:
    """Whether the category (a team) exists."""
    return conn.execute(select(categories.c.id).where(categories.c.id == category_id)).first() is not None


def _visible(*, user_id: int, admin: bool, categories: frozenset[int]) -> ColumnElement[bool]:
    """SQL for `domain.macros.may_see`, so the picker's page is filtered in the database."""
    team = macros.c.scope == "team"
    team_seen = team if admin else and_(team, macros.c.category_id.in_(categories) if categories else false())
    personal = and_(macros.c.scope == "personal", macros.c.owner_id == user_id)
    return or_(macros.c.scope == "everyone", team_seen, personal)


def visible(
    conn: Connection, *, kind: str, user_id: int, admin: bool, categories: frozenset[int], q: str | None
) -> list[dict[str, Any]]:
    """The ones of `kind` a user sees, names starting with `q` first, then containing it, each by name."""
    query = select(macros).where(macros.c.kind == kind, _visible(user_id=user_id, admin=admin, categories=categories))
    name = func.lower(macros.c.name)
    order: list[Any] = [name, macros.c.id]
    if q:
        needle = q.lower()
        query = query.where(name.contains(needle, autoescape=True))
        order.insert(0, case((name.startswith(needle, autoescape=True), 0), else_=1))
    rows = conn.execute(query.order_by(*order).limit(PICKER_LIMIT))
    return [dict(r._mapping) for r in rows]


def load(conn: Connection, *, kind: str, item_id: int) -> dict[str, Any] | None:
    """One reply or macro of `kind`, or None."""
    row = conn.execute(select(macros).where(macros.c.id == item_id, macros.c.kind == kind)).first()
    return None if row is None else dict(row._mapping)


def add(conn: Connection, values: dict[str, Any]) -> int:
    """Store a new one; its id."""
    return insert_returning_id(conn, insert(macros), values)


def change(conn: Connection, *, item_id: int, values: dict[str, Any]) -> None:
    """Store new values of one."""
    conn.execute(update(macros).where(macros.c.id == item_id).values(values))


def remove(conn: Connection, *, item_id: int) -> None:
    """Delete one."""
    conn.execute(delete(macros).where(macros.c.id == item_id))
