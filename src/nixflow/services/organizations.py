"""Organizations (admins write, staff read, a requester reads their own): the checks, the rows and the events.

Every change is an event about the organization (`organization.*`, aggregate type `organization`), so the log
is their audit trail. A new user joins the organization of their mail domain in `users.create_user`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, delete

from nixflow.domain.errors import Conflict, Forbidden, NotFound
from nixflow.domain.fields import Entity, difference, merged
from nixflow.domain.organizations import clean_domains, clean_name, name_key
from nixflow.domain.values import Role
from nixflow.services import field_definitions
from nixflow.services.users import Principal, require_admin
from nixflow.store import organizations as rows
from nixflow.store.db import Tx, insert_returning_id
from nixflow.store.tables import organization_members, organizations, users


def visible_to(conn: Connection, *, viewer: Principal) -> list[dict[str, Any]]:
    """Every organization, by name (staff)."""
    if not viewer.is_staff:
        raise Forbidden("agents and admins read organizations; a requester reads their own (`names_of`)")
    return rows.list_all(conn)


def names_of(conn: Connection, *, user_id: int) -> list[dict[str, Any]]:
    """The organizations `user_id` belongs to (id and name), by name."""
    return [{"id": o["id"], "name": o["name"]} for o in rows.list_all(conn, ids=rows.of_user(conn, user_id))]


def get(conn: Connection, *, viewer: Principal, organization_id: int) -> dict[str, Any]:
    """One organization (staff), with its members' ids; NotFound when there is none."""
    found = rows.get(conn, organization_id) if viewer.is_staff else None
    if found is None:
        raise NotFound(f"organization {organization_id} not found")
    return found | {"member_ids": rows.member_ids(conn, organization_id)}


def _free_name(conn: Connection, name: str, *, organization_id: int | None = None) -> str:
    key = name_key(name)
    holder = rows.by_name(conn, key)
    if holder is not None and holder != organization_id:
        raise Conflict(f"an organization named {name!r} exists already")
    return key


def _free_domains(conn: Connection, domains: Sequence[str], *, organization_id: int | None = None) -> None:
    taken = {d: o for d, o in rows.owners_of(conn, domains).items() if o != organization_id}
    if taken:
        raise Conflict(
            "domains belong to another organization already: " + ", ".join(sorted(taken)),
            errors=[{"loc": ["body", "domains"], "msg": f"taken: {d}"} for d in sorted(taken)],
        )


def _with_fields(conn: Connection, current: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """`current` custom field values with `values` merged (a null clears one), each checked by its organization
    field's definition: a 422 naming the field for a bad value or an unknown or archived key."""
    return merged(current, field_definitions.validate_values(conn, Entity.ORGANIZATION, values, role=Role.ADMIN))


def create(
    tx: Tx,
    *,
    actor: Principal,
    name: str,
    domains: Sequence[str],
    shares_tickets: bool,
    fields: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Add an organization (admins); 409 for a name (in any case) or a domain another has, 422 naming a custom
    field its definition refuses; nothing stored then. `organization.created`, with the fields it was made with."""
    require_admin(actor)
    name, cleaned = clean_name(name), clean_domains(domains)
    key = _free_name(tx.conn, name)
    _free_domains(tx.conn, cleaned)
    values = {"name": name, "name_key": key, "shares_tickets": shares_tickets, "created_at": tx.now}
    values["fields"] = _with_fields(tx.conn, {}, fields or {})
    organization_id = insert_returning_id(tx.conn, organizations.insert(), values | {"updated_at": tx.now})
    rows.set_domains(tx.conn, organization_id, cleaned)
    data = {"organization_id": organization_id, "name": name, "domains": cleaned, "shares_tickets": shares_tickets}
    _emit(tx, "organization.created", organization_id, data | {"fields": values["fields"]})
    return _read(tx.conn, organization_id)


def update(tx: Tx, *, actor: Principal, organization_id: int, changes: dict[str, Any]) -> dict[str, Any]:
    """Change the name, the domains (the whole list), sharing (admins): `organization.updated` with what changed;
    or custom `fields` (merged, a null clears one; a 422 naming a bad one, nothing stored):
    `organization.fields_changed` with the changed keys before and after."""
    require_admin(actor)
    before = _read(tx.conn, organization_id)
    after = dict(before)
    if changes.get("name") is not None:
        after["name"] = clean_name(changes["name"])
        _free_name(tx.conn, after["name"], organization_id=organization_id)
    if changes.get("domains") is not None:
        after["domains"] = sorted(clean_domains(changes["domains"]))
        _free_domains(tx.conn, after["domains"], organization_id=organization_id)
    if changes.get("shares_tickets") is not None:
        after["shares_tickets"] = bool(changes["shares_tickets"])
    after["fields"] = _with_fields(tx.conn, before["fields"], changes.get("fields") or {})
    changed = {
        k: {"old": before[k], "new": after[k]} for k in ("name", "domains", "shares_tickets") if before[k] != after[k]
    }
    if not changed and after["fields"] == before["fields"]:
        return before
    values = {"name": after["name"], "name_key": name_key(after["name"]), "shares_tickets": after["shares_tickets"]}
    values |= {"fields": after["fields"], "updated_at": tx.now}
    tx.conn.execute(organizations.update().where(organizations.c.id == organization_id).values(values))
    if "domains" in changed:
        rows.set_domains(tx.conn, organization_id, after["domains"])
    if changed:
        _emit(tx, "organization.updated", organization_id, {"organization_id": organization_id, "changes": changed})
    if after["fields"] != before["fields"]:
        old, new = difference(before["fields"], after["fields"])
        data = {"organization_id": organization_id, "by_id": actor.id, "before": old, "after": new}
        _emit(tx, "organization.fields_changed", organization_id, data)
    return _read(tx.conn, organization_id)


def delete_organization(tx: Tx, *, actor: Principal, organization_id: int) -> None:
    """Delete an organization, its domains and memberships (admins); its tickets keep its id as history."""
    require_admin(actor)
    before = _read(tx.conn, organization_id)
    tx.conn.execute(delete(organization_members).where(organization_members.c.organization_id == organization_id))
    rows.set_domains(tx.conn, organization_id, [])
    tx.conn.execute(delete(organizations).where(organizations.c.id == organization_id))
    data = {"organization_id": organization_id, "name": before["name"], "members": before["member_count"]}
    _emit(tx, "organization.deleted", organization_id, data)


def add_member(tx: Tx, *, actor: Principal, organization_id: int, user_id: int) -> dict[str, Any]:
    """Make a user a member (admins); idempotent. `organization.member_added`."""
    require_admin(actor)
    _read(tx.conn, organization_id)
    _check_person(tx.conn, user_id)
    if not rows.is_member(tx.conn, organization_id=organization_id, user_id=user_id):
        rows.add_member(tx.conn, organization_id=organization_id, user_id=user_id, at=tx.now)
        data = {"organization_id": organization_id, "user_id": user_id, "by_id": actor.id, "via": "admin"}
        _emit(tx, "organization.member_added", organization_id, data)
    return get(tx.conn, viewer=actor, organization_id=organization_id)


def remove_member(tx: Tx, *, actor: Principal, organization_id: int, user_id: int) -> dict[str, Any]:
    """Take a user out (admins); idempotent. `organization.member_removed`."""
    require_admin(actor)
    _read(tx.conn, organization_id)
    if rows.is_member(tx.conn, organization_id=organization_id, user_id=user_id):
        m = organization_members
        tx.conn.execute(delete(m).where(m.c.organization_id == organization_id, m.c.user_id == user_id))
        data = {"organization_id": organization_id, "user_id": user_id, "by_id": actor.id}
        _emit(tx, "organization.member_removed", organization_id, data)
    return get(tx.conn, viewer=actor, organization_id=organization_id)


def _check_person(conn: Connection, user_id: int) -> None:
    found = conn.execute(users.select().where(users.c.id == user_id, users.c.id != 0)).first()
    if found is None:
        raise NotFound(f"user {user_id} not found")


def _read(conn: Connection, organization_id: int) -> dict[str, Any]:
    found = rows.get(conn, organization_id)
    if found is None:
        raise NotFound(f"organization {organization_id} not found")
    return found


def _emit(tx: Tx, event_type: str, organization_id: int, data: dict[str, Any]) -> None:
    tx.emit(event_type, aggregate_type="organization", aggregate_id=organization_id, data=data)
