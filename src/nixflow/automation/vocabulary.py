"""The rule builder's vocabulary (`domain/rule_vocabulary.py`) with the choices its values come from, read now."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from nixflow.domain.fields import Entity
from nixflow.domain.macros import Kind
from nixflow.domain.rule_vocabulary import vocabulary
from nixflow.domain.values import Role
from nixflow.services import field_definitions, macros, ticket_tags, users
from nixflow.store import organizations
from nixflow.store import workflows as workflow_rows
from nixflow.store.tables import users as user_rows


def _choice(value: Any, label: str) -> dict[str, Any]:
    return {"value": value, "label": label}


def _agents(conn: Connection) -> list[dict[str, Any]]:
    """Active agents and admins, by name: whom a rule can assign or notify."""
    staff = user_rows.c.role.in_([Role.AGENT.value, Role.ADMIN.value])
    query = select(user_rows.c.id, user_rows.c.name).where(staff, user_rows.c.active.is_(True))
    return [_choice(int(r[0]), str(r[1])) for r in conn.execute(query.order_by(user_rows.c.name, user_rows.c.id))]


def _fields(conn: Connection) -> list[dict[str, Any]]:
    """The ticket's custom fields (not archived), with what their values are."""
    return [
        {**_choice(key, d.label), "type": str(d.type), "options": list(d.options)}
        for key, d in sorted(field_definitions.active(conn, Entity.TICKET).items(), key=lambda kd: kd[1].position)
    ]


def choices(conn: Connection) -> dict[str, list[dict[str, Any]]]:
    """Each list a value can be picked from: `{value, label}` (custom fields also their type and options)."""
    return {
        "categories": [_choice(c["id"], c["name"]) for c in users.list_categories(conn)],
        "agents": _agents(conn),
        "organizations": [_choice(o["id"], o["name"]) for o in organizations.list_all(conn)],
        "tags": [_choice(t["tag"], t["tag"]) for t in ticket_tags.known(conn)],
        "macros": [_choice(m["id"], m["name"]) for m in macros.listing(conn, viewer=users.SYSTEM, kind=Kind.MACRO)],
        "fields": _fields(conn),
        "workflows": [_choice(w["id"], w["name"]) for w in workflow_rows.definitions(conn)],
    }


def read(conn: Connection) -> dict[str, Any]:
    """What `GET /api/rules/vocabulary` answers."""
    return {**vocabulary(), "choices": choices(conn)}
