"""The rows of approval workflows: definitions, runs on tickets, delegations."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, select

from nixflow.store.tables import (
    categories,
    category_agents,
    users,
    workflow_delegations,
    workflow_runs,
    workflows,
)


def _definition(row: Any) -> dict[str, Any]:
    m = dict(row._mapping)
    return {"id": m["id"], "name": m["name"], "active": m["active"], **m["definition"]} | {
        "created_at": m["created_at"],
        "updated_at": m["updated_at"],
    }


def definitions(conn: Connection) -> list[dict[str, Any]]:
    """Every workflow definition, by name."""
    return [_definition(r) for r in conn.execute(select(workflows).order_by(workflows.c.name))]


def definition(conn: Connection, workflow_id: int) -> dict[str, Any] | None:
    row = conn.execute(select(workflows).where(workflows.c.id == workflow_id)).first()
    return None if row is None else _definition(row)


def named(conn: Connection, name: str) -> int | None:
    return conn.execute(select(workflows.c.id).where(workflows.c.name == name)).scalar()


def started_by_categories(conn: Connection) -> dict[int, int]:
    """Category id → the workflow its new tickets start, for the categories that start one."""
    found = conn.execute(select(categories.c.id, categories.c.workflow_id).where(categories.c.workflow_id.is_not(None)))
    return {int(r.id): int(r.workflow_id) for r in found}


def run_of(conn: Connection, ticket_id: int, *, for_update: bool = False) -> dict[str, Any] | None:
    """The ticket's newest workflow run; `for_update`: locked until the unit of work ends (PostgreSQL; SQLite
    has one writer), so two decisions, or a decision and the deadline, never both act on what they read."""
    q = select(workflow_runs).where(workflow_runs.c.ticket_id == ticket_id).order_by(workflow_runs.c.id.desc())
    row = conn.execute((q.with_for_update() if for_update else q).limit(1)).first()
    return None if row is None else dict(row._mapping)


def runs_of(conn: Connection, ticket_id: int) -> list[dict[str, Any]]:
    """Every workflow run of a ticket, oldest first."""
    q = select(workflow_runs).where(workflow_runs.c.ticket_id == ticket_id).order_by(workflow_runs.c.id)
    return [dict(r._mapping) for r in conn.execute(q)]


def due_runs(conn: Connection, now: datetime, limit: int) -> list[int]:
    """Runs whose current step's deadline has passed."""
    r = workflow_runs
    q = select(r.c.id).where(r.c.status == "running", r.c.step_due_at <= now).order_by(r.c.step_due_at)
    return list(conn.execute(q.limit(limit)).scalars())


def run_by_id(conn: Connection, run_id: int, *, for_update: bool = False) -> dict[str, Any] | None:
    q = select(workflow_runs).where(workflow_runs.c.id == run_id)
    row = conn.execute(q.with_for_update() if for_update else q).first()
    return None if row is None else dict(row._mapping)


def users_with_role(conn: Connection, role: str) -> list[int]:
    """Active users of a role; `approver`: admins and agents with the approver right."""
    u = users
    where = u.c.can_approve.is_(True) if role == "approver" else u.c.role == role
    return list(conn.execute(select(u.c.id).where(where, u.c.active.is_(True), u.c.id != 0).order_by(u.c.id)).scalars())


def active_users(conn: Connection, ids: list[int]) -> list[int]:
    q = select(users.c.id).where(users.c.id.in_(ids), users.c.active.is_(True), users.c.id != 0).order_by(users.c.id)
    return list(conn.execute(q).scalars())


def team(conn: Connection, category_id: int) -> list[int]:
    """The active agents of a category."""
    q = (
        select(users.c.id)
        .join(category_agents, category_agents.c.user_id == users.c.id)
        .where(category_agents.c.category_id == category_id, users.c.active.is_(True))
        .order_by(users.c.id)
    )
    return list(conn.execute(q).scalars())


def user_fields(conn: Connection, user_id: int) -> dict[str, Any]:
    return dict(conn.execute(select(users.c.fields).where(users.c.id == user_id)).scalar() or {})


def user_by_email(conn: Connection, email: str) -> int | None:
    q = select(users.c.id).where(users.c.email == email.strip().lower(), users.c.active.is_(True))
    return conn.execute(q).scalar()


def delegation(conn: Connection, user_id: int) -> dict[str, Any] | None:
    row = conn.execute(select(workflow_delegations).where(workflow_delegations.c.user_id == user_id)).first()
    return None if row is None else dict(row._mapping)


def standing_in(conn: Connection, for_ids: list[int], now: datetime) -> dict[int, int]:
    """For the approvers among `for_ids` who are away now, their delegate: approver id → delegate id."""
    d = workflow_delegations
    q = select(d.c.user_id, d.c.delegate_id).where(
        and_(d.c.user_id.in_(for_ids), d.c.starts_at <= now, d.c.ends_at > now)
    )
    return {int(r.user_id): int(r.delegate_id) for r in conn.execute(q)}
