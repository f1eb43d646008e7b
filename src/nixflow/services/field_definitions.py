"""Custom field definitions (admins) and the one check every write of field values goes through."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection

from nixflow.domain import fields
from nixflow.domain.errors import Conflict, NotFound
from nixflow.domain.fields import Entity, FieldDefinition
from nixflow.domain.values import Role
from nixflow.services.users import Principal, require_admin
from nixflow.store import config_cache, custom_fields
from nixflow.store.db import Tx

STAFF_ROLES = (Role.AGENT, Role.ADMIN, Role.SYSTEM)


def _definitions(source: Connection | Tx, entity: Entity) -> dict[str, FieldDefinition]:
    """Every definition of `entity` by key: in a unit of work from the process's cache of configuration."""
    if isinstance(source, Connection):
        return custom_fields.definitions(source, entity)
    read = functools.partial(custom_fields.definitions, entity=entity)
    return config_cache.cached(source, ("field_definitions", entity), ("field_definitions",), read)


def validate_values(
    source: Connection | Tx, entity: Entity, values: Mapping[str, Any], *, role: Role
) -> dict[str, Any]:
    """`values` as stored (None: clear the key), each checked against its definition on `entity`: a 422 naming
    the field for a bad value, an unknown or archived key, or (for a requester) a staff-only field."""
    return fields.check_values(_definitions(source, entity), values, staff=role in STAFF_ROLES)


def require_filled(
    source: Connection | Tx, entity: Entity, values: Mapping[str, Any], *, requesters: bool, when: str
) -> None:
    """422 naming each field required (of requesters, or of agents) that `values` leaves unfilled."""
    fields.require(list(_definitions(source, entity).values()), values, requesters=requesters, when=when)


def active(conn: Connection, entity: Entity) -> dict[str, FieldDefinition]:
    """The definitions not archived, by key."""
    return {k: d for k, d in custom_fields.definitions(conn, entity).items() if not d.archived}


def requester_visible(conn: Connection, entity: Entity = Entity.TICKET) -> dict[str, FieldDefinition]:
    """The active definitions requesters may see, by key."""
    return {k: d for k, d in active(conn, entity).items() if d.requester_visible}


def fields_changed(
    conn: Connection, before: Mapping[str, Any], after: Mapping[str, Any], *, by_id: int
) -> dict[str, Any]:
    """The data of `ticket.fields_changed` from `before` to `after`: only the changed keys, and which of them
    requesters may see (their timeline and live view show those; none: not the event at all)."""
    old, new = fields.difference(before, after)
    shown = requester_visible(conn)
    return {"before": old, "after": new, "by_id": by_id, "requester_visible": [k for k in new if k in shown]}


def listed(
    conn: Connection, *, viewer: Principal, entity: Entity | None, archived: bool = False
) -> list[dict[str, Any]]:
    """The definitions `viewer` may read: staff all (archived ones when asked), a requester the active
    requester-visible ticket fields (what the new-ticket form shows)."""
    if not viewer.is_staff:
        if entity not in (None, Entity.TICKET):
            return []
        return [r for r in custom_fields.rows(conn, Entity.TICKET) if r["requester_visible"]]
    return custom_fields.rows(conn, entity, archived=archived and viewer.is_staff)


def described(row: Mapping[str, Any]) -> dict[str, Any]:
    """A stored definition as the API shows it, with the JSON Schema its values are checked against."""
    d = custom_fields.definition_of(row)
    return {**row, "archived": d.archived, "schema": fields.json_schema(d)}


def _emit(tx: Tx, event_type: str, field_id: int, d: FieldDefinition) -> None:
    data = {"field_id": field_id, **custom_fields.row_of(d), "archived": d.archived}
    tx.emit(event_type, aggregate_type="field_definition", aggregate_id=field_id, data=data)


def create(tx: Tx, *, actor: Principal, definition: FieldDefinition) -> dict[str, Any]:
    """Define a field (admins); 409 when its entity has the key already (archived ones too: keys are for ever)."""
    require_admin(actor)
    if definition.key in custom_fields.definitions(tx.conn, definition.entity):
        raise Conflict(
            f"a {definition.entity} field {definition.key!r} exists already",
            errors=[{"loc": ["body", "key"], "msg": "taken"}],
        )
    field_id = custom_fields.insert_definition(tx.conn, definition, now=tx.now)
    tx.memo.clear()  # configuration this unit of work read (`store.config_cache`) is stale now
    _emit(tx, "workflow.field_created", field_id, definition)
    return found(tx.conn, field_id)


def found(conn: Connection, field_id: int) -> dict[str, Any]:
    found = custom_fields.row(conn, field_id)
    if found is None:
        raise NotFound(f"field {field_id} not found")
    return found


def update(tx: Tx, *, actor: Principal, field_id: int, changes: Mapping[str, Any]) -> dict[str, Any]:
    """Change a definition (admins): anything but its key and entity; `archived` archives or restores it.
    Values already stored stay as they are, a value the new definition would refuse included."""
    require_admin(actor)
    stored = found(tx.conn, field_id)
    before = custom_fields.definition_of(stored)
    listed_changes: dict[str, Any] = {k: tuple(v) if k == "options" else v for k, v in changes.items()}
    after = dataclasses.replace(before, **listed_changes)
    if after == before:
        return stored
    archived_at = (stored["archived_at"] or tx.now) if after.archived else None
    custom_fields.update_definition(tx.conn, field_id, after, archived_at=archived_at)
    tx.memo.clear()
    _emit(
        tx,
        "workflow.field_archived" if after.archived and not before.archived else "workflow.field_updated",
        field_id,
        after,
    )
    return found(tx.conn, field_id)
