"""Approval workflow definitions (admins) and delegations (each approver their own).

A definition is checked whole before anything is stored (`domain/workflows.checked_definition`, then every user,
category, macro and user field it names must exist): a bad one is a 422 naming the place, nothing written.
Each change is an event (`workflow.definition_*`), so the log is the audit trail.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, select, update

from nixflow.domain.errors import Conflict, NotFound, ValidationFailed
from nixflow.domain.fields import Entity
from nixflow.domain.workflows import checked_definition
from nixflow.services import field_definitions
from nixflow.services.users import Principal, require_admin
from nixflow.store import workflows as rows
from nixflow.store.db import Tx, insert_returning_id
from nixflow.store.tables import categories, macros, users, workflow_delegations, workflows


def _missing(loc: list[str | int], message: str) -> ValidationFailed:
    return ValidationFailed(message, errors=[{"loc": ["body", *loc], "msg": message, "type": "value_error"}])


def _check_references(conn: Connection, definition: dict[str, Any]) -> None:
    """Every user, category, macro and user field a checked definition names exists."""
    known_users = set(conn.execute(select(users.c.id).where(users.c.id != 0)).scalars())
    user_fields = field_definitions.active(conn, Entity.USER)
    for i, step in enumerate(definition["steps"]):
        approvers = step["approvers"]
        for uid in [*approvers.get("user_ids", []), *step["escalate_to"]]:
            if uid not in known_users:
                raise _missing(["steps", i], f"user {uid} does not exist")
        if approvers["kind"] == "team" and rows.team(conn, approvers["category_id"]) == []:
            exists = conn.execute(select(categories.c.id).where(categories.c.id == approvers["category_id"])).first()
            if exists is None:
                raise _missing(
                    ["steps", i, "approvers", "category_id"], f"category {approvers['category_id']} does not exist"
                )
        if approvers["kind"] == "manager" and approvers["field"] not in user_fields:
            raise _missing(["steps", i, "approvers", "field"], f"no active user field {approvers['field']!r}")
    for outcome in ("on_approved", "on_rejected"):
        chosen = definition[outcome]
        if "assignee_id" in chosen and chosen["assignee_id"] not in known_users:
            raise _missing([outcome, "assignee_id"], f"user {chosen['assignee_id']} does not exist")
        if "macro_id" in chosen:
            found = conn.execute(select(macros.c.kind).where(macros.c.id == chosen["macro_id"])).scalar()
            if found != "macro":
                raise _missing([outcome, "macro_id"], f"macro {chosen['macro_id']} does not exist")


def _checked(conn: Connection, body: dict[str, Any], *, workflow_id: int | None = None) -> tuple[str, dict[str, Any]]:
    name = body.get("name")
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > 100:
        raise _missing(["name"], "a workflow needs a name of 1 to 100 characters")
    holder = rows.named(conn, name.strip())
    if holder is not None and holder != workflow_id:
        raise Conflict(f"a workflow named {name.strip()!r} exists already")
    definition = checked_definition(body)
    _check_references(conn, definition)
    return name.strip(), definition


def listing(conn: Connection, *, viewer: Principal) -> list[dict[str, Any]]:
    """Every workflow definition (admins)."""
    require_admin(viewer)
    return rows.definitions(conn)


def get(conn: Connection, *, viewer: Principal, workflow_id: int) -> dict[str, Any]:
    """One definition (admins); NotFound when there is none."""
    require_admin(viewer)
    found = rows.definition(conn, workflow_id)
    if found is None:
        raise NotFound(f"workflow {workflow_id} not found")
    return found


def _emit(tx: Tx, event_type: str, workflow_id: int, name: str, by_id: int) -> None:
    data = {"workflow_id": workflow_id, "name": name, "by_id": by_id}
    tx.emit(event_type, aggregate_type="workflow", aggregate_id=workflow_id, data=data)


def create(tx: Tx, *, actor: Principal, body: dict[str, Any]) -> dict[str, Any]:
    """Define a workflow (admins): 422 naming what is wrong, 409 for a taken name; nothing stored then."""
    require_admin(actor)
    name, definition = _checked(tx.conn, body)
    values = {"name": name, "definition": definition, "active": bool(body.get("active", True))}
    workflow_id = insert_returning_id(
        tx.conn, workflows.insert(), values | {"created_at": tx.now, "updated_at": tx.now}
    )
    _emit(tx, "workflow.definition_created", workflow_id, name, actor.id)
    return get(tx.conn, viewer=actor, workflow_id=workflow_id)


def replace(tx: Tx, *, actor: Principal, workflow_id: int, body: dict[str, Any]) -> dict[str, Any]:
    """Replace a definition whole (admins). Runs already started keep the definition they started with."""
    get(tx.conn, viewer=actor, workflow_id=workflow_id)
    name, definition = _checked(tx.conn, body, workflow_id=workflow_id)
    values = {"name": name, "definition": definition, "active": bool(body.get("active", True)), "updated_at": tx.now}
    tx.conn.execute(update(workflows).where(workflows.c.id == workflow_id).values(values))
    _emit(tx, "workflow.definition_updated", workflow_id, name, actor.id)
    return get(tx.conn, viewer=actor, workflow_id=workflow_id)


def remove(tx: Tx, *, actor: Principal, workflow_id: int) -> None:
    """Delete a definition (admins); categories starting it start none; running workflows run on."""
    found = get(tx.conn, viewer=actor, workflow_id=workflow_id)
    tx.conn.execute(update(categories).where(categories.c.workflow_id == workflow_id).values(workflow_id=None))
    tx.conn.execute(delete(workflows).where(workflows.c.id == workflow_id))
    _emit(tx, "workflow.definition_deleted", workflow_id, found["name"], actor.id)


def set_category_workflow(tx: Tx, *, actor: Principal, category_id: int, workflow_id: int | None) -> None:
    """Make new tickets of a category start a workflow (None: none). Admins."""
    require_admin(actor)
    if workflow_id is not None:
        get(tx.conn, viewer=actor, workflow_id=workflow_id)
    done = tx.conn.execute(update(categories).where(categories.c.id == category_id).values(workflow_id=workflow_id))
    tx.memo.clear()  # configuration this unit of work read (`store.config_cache`) is stale now
    if done.rowcount == 0:
        raise NotFound(f"category {category_id} not found")


def started_by_categories(conn: Connection) -> dict[int, int]:
    """Category id → the workflow its new tickets start, for the categories that start one."""
    return rows.started_by_categories(conn)


def delegation_of(conn: Connection, *, user: Principal) -> dict[str, Any] | None:
    """The caller's delegation, if they named a delegate."""
    return rows.delegation(conn, user.id)


def delegate(tx: Tx, *, user: Principal, delegate_id: int, starts_at: datetime, ends_at: datetime) -> dict[str, Any]:
    """Name who decides for the caller from `starts_at` to `ends_at` (replacing any earlier delegation); 404 for
    someone who is not an active user, 409 for the caller themself."""
    if delegate_id == user.id:
        raise Conflict("you cannot stand in for yourself: name another user")
    if not rows.active_users(tx.conn, [delegate_id]):
        raise NotFound(f"no active user {delegate_id}")
    d = workflow_delegations
    tx.conn.execute(delete(d).where(d.c.user_id == user.id))
    values = {"user_id": user.id, "delegate_id": delegate_id, "starts_at": starts_at, "ends_at": ends_at}
    tx.conn.execute(d.insert().values(values))
    tx.emit("workflow.delegation_set", aggregate_type="user", aggregate_id=user.id, data=values)
    found = rows.delegation(tx.conn, user.id)
    assert found is not None
    return found


def end_delegation(tx: Tx, *, user: Principal) -> None:
    """End the caller's delegation; idempotent."""
    d = workflow_delegations
    if tx.conn.execute(delete(d).where(d.c.user_id == user.id)).rowcount:
        tx.emit("workflow.delegation_set", aggregate_type="user", aggregate_id=user.id, data={"user_id": user.id})
