"""Changing a ticket's custom field values (staff and rules): the checks, then the ordinary event path."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nixflow.domain.errors import Conflict, Forbidden
from nixflow.domain.fields import Entity, merged
from nixflow.domain.tickets import Status
from nixflow.services import field_definitions, tickets
from nixflow.services.users import Principal
from nixflow.store.db import Tx


def change(
    tx: Tx, *, actor: Principal, ticket_id: int, values: Mapping[str, Any], version: int | None = None
) -> dict[str, Any]:
    """Set custom fields (merge: keys not named stay, a null clears one); `ticket.fields_changed` with only the
    keys that changed, before and after. Idempotent: values it has already emit nothing. Bad input (a value its
    definition refuses, an unknown or archived key) is a 422 naming the field, and nothing changes."""
    ticket = tickets.current(tx, ticket_id=ticket_id, viewer=actor)
    if not actor.is_staff:
        raise Forbidden("only agents and admins change a ticket's fields once it is open")
    tickets.check_version(ticket, version)
    checked = field_definitions.validate_values(tx, Entity.TICKET, values, role=actor.role)
    current = dict(ticket["fields"] or {})
    after = merged(current, checked)
    if after == current:
        return ticket
    if ticket["status"] == Status.CLOSED.value:
        raise Conflict(f"ticket {ticket_id} is closed; closed tickets cannot change")
    changed = field_definitions.fields_changed(tx.conn, current, after, by_id=actor.id)
    return tickets.emit_changes(tx, ticket, [("ticket.fields_changed", changed)])
