"""Small reads the pages share: names of people, categories and rules, and causation trees."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, select

from nixflow.domain.envelope import EventRecord
from nixflow.domain.values import Role
from nixflow.store import organizations
from nixflow.store.tables import SYSTEM_USER_ID, categories, rules, users


def user_names(conn: Connection, ids: Iterable[int | None]) -> dict[int, str]:
    """User id → name, for the ids given."""
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return {}
    rows = conn.execute(select(users.c.id, users.c.name).where(users.c.id.in_(wanted)))
    return {int(r[0]): str(r[1]) for r in rows}


def role_of(conn: Connection, user_id: int) -> Role | None:
    """The role of a user (None if there is no such user)."""
    found = conn.execute(select(users.c.role).where(users.c.id == user_id)).scalar_one_or_none()
    return None if found is None else Role(found)


def assignable(conn: Connection) -> list[dict[str, Any]]:
    """Active agents and admins, by name: whom a ticket can be assigned to."""
    rows = conn.execute(
        select(users.c.id, users.c.name, users.c.role)
        .where(users.c.role.in_(["agent", "admin"]), users.c.active.is_(True))
        .order_by(users.c.name, users.c.id)
    )
    return [dict(r._mapping) for r in rows]


def people(conn: Connection) -> list[dict[str, Any]]:
    """Active users by name, with their email: who can be made a ticket's requester or watcher."""
    rows = conn.execute(
        select(users.c.id, users.c.name, users.c.email)
        .where(users.c.active.is_(True), users.c.id != SYSTEM_USER_ID)
        .order_by(users.c.name, users.c.id)
    )
    return [dict(r._mapping) for r in rows]


def category_names(conn: Connection) -> dict[int, str]:
    """Category id → name."""
    rows = conn.execute(select(categories.c.id, categories.c.name).order_by(categories.c.name))
    return {int(r[0]): str(r[1]) for r in rows}


def organization_name(conn: Connection, organization_id: int | None) -> str | None:
    """The organization's name; None for none, or one since deleted."""
    if organization_id is None:
        return None
    found = organizations.get(conn, organization_id)
    return None if found is None else str(found["name"])


def rule_names(conn: Connection) -> dict[int, str]:
    """Rule id → name."""
    return {int(r[0]): str(r[1]) for r in conn.execute(select(rules.c.id, rules.c.name))}


def people_of(records: Sequence[EventRecord]) -> set[int]:
    """Every user id an event names as actor, assignee, author, requester (a new one too) or watcher."""
    found: set[int] = set()
    for r in records:
        if r.actor_id is not None:
            found.add(r.actor_id)
        for key in (
            "assignee_id",
            "previous_assignee_id",
            "author_id",
            "requester_id",
            "approver_id",
            "by_id",
            "watcher_id",
        ):
            value = r.data.get(key)
            if isinstance(value, int):
                found.add(value)
        moved = (r.data.get("changes") or {}).get("requester_id") if r.type == "ticket.updated" else None
        found |= {v for v in (moved or {}).values() if isinstance(v, int)}
    return found


@dataclass
class Node:
    """An event in a causation tree, with the events it caused."""

    record: EventRecord
    children: list[Node] = field(default_factory=list)


def causation_forest(records: Sequence[EventRecord]) -> list[Node]:
    """Events arranged by what caused what (roots: events whose cause is not among them), in log order."""
    nodes = {r.event_id: Node(r) for r in records}
    roots: list[Node] = []
    for r in records:
        parent = nodes.get(r.causation_id or "")
        (parent.children if parent is not None else roots).append(nodes[r.event_id])
    return roots


def chain_to_root(records: Sequence[EventRecord], event_id: str) -> list[EventRecord]:
    """The event and its causes, back to the first, oldest first."""
    by_id = {r.event_id: r for r in records}
    chain: list[EventRecord] = []
    current = by_id.get(event_id)
    while current is not None and len(chain) < 100:
        chain.append(current)
        current = by_id.get(current.causation_id or "")
    return list(reversed(chain))


def caused_by_rule(record: EventRecord, names: dict[int, str]) -> str | None:
    """The name of the automation rule that made this change, if one did."""
    rule_id = record.rule_id if record.rule_id is not None else record.data.get("rule_id")
    if not isinstance(rule_id, int):
        return None
    return str(record.data.get("rule_name") or names.get(rule_id) or f"rule #{rule_id}")
