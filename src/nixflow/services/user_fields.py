"""A user's custom field values (admins): checked like a ticket's, then `user.fields_changed`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import update

from nixflow.domain.fields import Entity, difference, merged
from nixflow.domain.values import Role
from nixflow.services import field_definitions, users
from nixflow.store.db import Tx
from nixflow.store.tables import users as users_table


def change(tx: Tx, *, user_id: int, values: Mapping[str, Any]) -> dict[str, Any]:
    """Set a user's custom fields (merge: a null clears one); a 422 naming a field its definition refuses, and
    nothing stored. Emits `user.fields_changed` with only the changed keys; the same values again emit nothing."""
    current = dict(users.get_user(tx.conn, user_id=user_id)["fields"] or {})
    checked = field_definitions.validate_values(tx, Entity.USER, values, role=Role.ADMIN)
    after = merged(current, checked)
    if after != current:
        tx.conn.execute(update(users_table).where(users_table.c.id == user_id).values(fields=after))
        before, new = difference(current, after)
        data = {"user_id": user_id, "by_id": tx.ctx.actor_id, "before": before, "after": new}
        tx.emit("user.fields_changed", aggregate_type="user", aggregate_id=user_id, data=data)
    return users.get_user(tx.conn, user_id=user_id)
