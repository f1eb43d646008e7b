"""Custom fields in storage: the admins' definitions, and the ticket values' index (`ticket_field_values`), kept
equal to the ticket's own `fields` by the one save that changes them, for the queue's `?field=` filter."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, delete, insert, select, update

from nixflow.domain.fields import Entity, FieldDefinition, FieldType
from nixflow.store.db import insert_returning_id
from nixflow.store.tables import field_definitions, ticket_field_values

_DEFINED = ("key", "label", "type", "entity", "required_for_requesters", "required_for_agents", "requester_visible")
_LIMITS = ("position", "minimum", "maximum", "max_length")


def definition_of(row: Mapping[str, Any]) -> FieldDefinition:
    """The domain definition of a stored row."""
    return FieldDefinition(
        **{k: row[k] for k in (*_DEFINED, *_LIMITS)},
        options=tuple(row["options"]),
        archived=row["archived_at"] is not None,
    )


def row_of(d: FieldDefinition) -> dict[str, Any]:
    """The columns of a definition (not its id, archive time or creation time)."""
    return {**{k: getattr(d, k) for k in (*_DEFINED, *_LIMITS)}, "options": list(d.options)}


def rows(conn: Connection, entity: Entity | None = None, *, archived: bool = False) -> list[dict[str, Any]]:
    """The stored definitions (of one entity), in their order; archived ones only when asked."""
    query = select(field_definitions).order_by(
        field_definitions.c.entity, field_definitions.c.position, field_definitions.c.id
    )
    if entity is not None:
        query = query.where(field_definitions.c.entity == entity.value)
    if not archived:
        query = query.where(field_definitions.c.archived_at.is_(None))
    return [dict(r._mapping) for r in conn.execute(query)]


def definitions(conn: Connection, entity: Entity) -> dict[str, FieldDefinition]:
    """Every definition of `entity`, archived ones included (values written before stay readable), by key."""
    return {r["key"]: definition_of(r) for r in rows(conn, entity, archived=True)}


def row(conn: Connection, field_id: int) -> dict[str, Any] | None:
    """One stored definition, or None."""
    found = conn.execute(select(field_definitions).where(field_definitions.c.id == field_id)).first()
    return dict(found._mapping) if found else None


def insert_definition(conn: Connection, d: FieldDefinition, *, now: datetime) -> int:
    """Store a new definition; its id."""
    return insert_returning_id(conn, insert(field_definitions), {**row_of(d), "created_at": now, "archived_at": None})


def update_definition(conn: Connection, field_id: int, d: FieldDefinition, *, archived_at: datetime | None) -> None:
    """Store a definition's new state (its key and entity never change)."""
    values = {k: v for k, v in row_of(d).items() if k not in ("key", "entity")}
    conn.execute(
        update(field_definitions).where(field_definitions.c.id == field_id).values(archived_at=archived_at, **values)
    )


def _index_rows(ticket_id: int, key: str, value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    if isinstance(value, bool):
        return [{"ticket_id": ticket_id, "key": key, "value_text": index_text(value), "value_num": None}]
    if isinstance(value, int | float):
        return [{"ticket_id": ticket_id, "key": key, "value_text": None, "value_num": float(value)}]
    values = value if isinstance(value, list) else [value]
    return [{"ticket_id": ticket_id, "key": key, "value_text": str(v), "value_num": None} for v in values]


def index_text(value: str | bool) -> str:
    """How the index keeps a non-numeric value (a checkbox as `true` / `false`)."""
    return ("true" if value else "false") if isinstance(value, bool) else value


def sync(conn: Connection, *, ticket_id: int, before: Mapping[str, Any], after: Mapping[str, Any]) -> None:
    """Make the index hold `after` for this ticket, where it held `before` (only the changed keys are touched)."""
    changed = [k for k in dict.fromkeys([*before, *after]) if before.get(k) != after.get(k)]
    if not changed:
        return
    where = ticket_field_values.c.ticket_id == ticket_id, ticket_field_values.c.key.in_(changed)
    conn.execute(delete(ticket_field_values).where(*where))
    new = [r for k in changed for r in _index_rows(ticket_id, k, after.get(k))]
    if new:
        conn.execute(insert(ticket_field_values), new)


def tickets_with(d: FieldDefinition, value: Any) -> Select[Any]:
    """The ids of the tickets whose field `d` has `value` (a multi select: has that option), by the index."""
    c = ticket_field_values.c
    if d.type == FieldType.NUMBER:
        return select(c.ticket_id).where(c.key == d.key, c.value_num == float(value))
    return select(c.ticket_id).where(c.key == d.key, c.value_text == index_text(value))
