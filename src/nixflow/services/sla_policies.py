"""SLA policies per priority, and an organization's own per priority; changing one moves the due times of the open
tickets it applies to."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Connection, delete, select, update

from nixflow.domain.errors import NotFound
from nixflow.domain.tickets import OPEN_STATUSES
from nixflow.domain.values import Priority
from nixflow.services import calendars, ticket_sla
from nixflow.services import tickets as ticket_service
from nixflow.store import organizations
from nixflow.store.db import Tx
from nixflow.store.tables import organization_sla_policies, sla_policies, tickets

_FIELDS = ("first_response_minutes", "resolution_minutes", "warning_percent")


def list_policies(conn: Connection) -> list[dict[str, Any]]:
    """Every policy, most urgent priority first."""
    rows = [dict(r._mapping) for r in conn.execute(select(sla_policies))]
    return sorted(rows, key=lambda r: Priority(r["priority"]).rank)


def put_policy(tx: Tx, *, priority: Priority, values: dict[str, Any]) -> dict[str, Any]:
    """Set the policy of a priority; emits `sla.policy_updated` (or `_created`) and re-times open tickets."""
    row: dict[str, Any] = {k: values[k] for k in _FIELDS}
    query = select(sla_policies.c.priority, sla_policies.c.calendar_id).where(sla_policies.c.priority == priority.value)
    exists = tx.conn.execute(query).first()
    # A calendar left out stays as it was.
    row["calendar_id"] = values.get("calendar_id", exists.calendar_id if exists else None)
    calendars.check_exists(tx.conn, row["calendar_id"])
    if exists:
        tx.conn.execute(
            update(sla_policies).where(sla_policies.c.priority == priority.value).values(updated_at=tx.now, **row)
        )
    else:
        tx.conn.execute(sla_policies.insert().values(priority=priority.value, updated_at=tx.now, **row))
    tx.emit(
        "sla.policy_updated" if exists else "sla.policy_created",
        aggregate_type="sla_policy",
        aggregate_id=priority.value,
        data={"priority": priority.value, **row},
    )
    tx.memo.clear()  # the policies read earlier in this unit of work are stale now
    retime_open(tx, tickets.c.priority == priority.value)
    return {"priority": priority.value, "updated_at": tx.now, **row}


def get_policy(conn: Connection, priority: Priority) -> dict[str, Any]:
    """One policy; NotFound if that priority has none."""
    row = conn.execute(select(sla_policies).where(sla_policies.c.priority == priority.value)).first()
    if row is None:
        raise NotFound(f"no SLA policy for priority '{priority.value}'")
    return dict(row._mapping)


def retime_calendar(tx: Tx, calendar_id: int) -> None:
    """A calendar changed: re-time the open tickets counting in it; targets already met or breached stay."""
    retime_open(tx, calendars.calendar_users(tx.conn, calendar_id), keep_done=True)


def retime_category(tx: Tx, category_id: int) -> None:
    """A category's calendar changed: re-time its open tickets; targets already met or breached stay."""
    retime_open(tx, tickets.c.category_id == category_id, keep_done=True)


def retime_open(tx: Tx, which: ColumnElement[bool], *, keep_done: bool = False) -> None:
    """Due times follow the policy (and calendar) of a ticket's current priority, from its creation time;
    with `keep_done` (a calendar change), a target already met or breached keeps its due time."""
    rows = tx.conn.execute(
        select(tickets).where(which, tickets.c.status.in_([s.value for s in OPEN_STATUSES])).order_by(tickets.c.id)
    ).all()
    for row in rows:
        ticket = dict(row._mapping)
        columns = ticket_sla.sla_columns(tx, ticket)
        state = ticket["sla_state"] or {}
        done = set(state.get("met", [])) | set(state.get("breached", [])) if keep_done else set()
        for target in done:
            columns[f"{target}_due"] = ticket[f"{target}_due"]
        columns["next_check_at"] = ticket_sla.next_check_at(tx, {**ticket, **columns})
        # Around `tickets._save`, no version bump: due times follow a policy, not a client's edit; `sla.retimed`
        # carries them for the fold (docs/architecture.md, "One Ticket that applies its events").
        tx.conn.execute(update(tickets).where(tickets.c.id == ticket["id"]).values(**columns))
        moved = {**ticket, **columns}
        ticket_service.remember(tx, moved)  # a later save in this unit checks the `next_check_at` it sets
        if ticket_service.due_times(moved) != ticket_service.due_times(ticket):
            tx.emit(
                "sla.retimed",
                aggregate_type="ticket",
                aggregate_id=ticket["id"],
                priority=Priority(ticket["priority"]),
                data={"ticket_id": ticket["id"], "priority": ticket["priority"], **ticket_service.due_times(moved)},
            )


def organization_policies(conn: Connection, *, organization_id: int) -> list[dict[str, Any]]:
    """An organization's own policies, most urgent priority first; NotFound for no such organization."""
    _check_organization(conn, organization_id)
    which = organization_sla_policies.c.organization_id == organization_id
    rows = [dict(r._mapping) for r in conn.execute(select(organization_sla_policies).where(which))]
    return sorted(rows, key=lambda r: Priority(r["priority"]).rank)


def put_organization_policy(
    tx: Tx, *, organization_id: int, priority: Priority, values: dict[str, Any]
) -> dict[str, Any]:
    """Give an organization its own targets for a priority (its tickets count in the calendar of that priority's
    policy); `organization.sla_policy_set`, and its open tickets of that priority are re-timed."""
    _check_organization(tx.conn, organization_id)
    row = {k: values[k] for k in _FIELDS}
    key = {"organization_id": organization_id, "priority": priority.value}
    _drop_organization_policy(tx.conn, organization_id, priority)
    tx.conn.execute(organization_sla_policies.insert().values(**key, **row, updated_at=tx.now))
    tx.emit("organization.sla_policy_set", aggregate_type="organization", aggregate_id=organization_id, data=key | row)
    _retime_organization(tx, organization_id, priority)
    return key | row | {"updated_at": tx.now}


def remove_organization_policy(tx: Tx, *, organization_id: int, priority: Priority) -> None:
    """The organization's tickets of that priority follow the priority's policy again (NotFound if it had none)."""
    _check_organization(tx.conn, organization_id)
    if not _drop_organization_policy(tx.conn, organization_id, priority):
        raise NotFound(f"organization {organization_id} has no SLA policy of its own for '{priority.value}'")
    data = {"organization_id": organization_id, "priority": priority.value}
    tx.emit("organization.sla_policy_removed", aggregate_type="organization", aggregate_id=organization_id, data=data)
    _retime_organization(tx, organization_id, priority)


def _drop_organization_policy(conn: Connection, organization_id: int, priority: Priority) -> bool:
    p = organization_sla_policies
    gone = conn.execute(delete(p).where(p.c.organization_id == organization_id, p.c.priority == priority.value))
    return bool(gone.rowcount)


def _retime_organization(tx: Tx, organization_id: int, priority: Priority) -> None:
    tx.memo.clear()  # the policies read earlier in this unit of work are stale now
    retime_open(tx, (tickets.c.organization_id == organization_id) & (tickets.c.priority == priority.value))


def _check_organization(conn: Connection, organization_id: int) -> None:
    if organizations.get(conn, organization_id) is None:
        raise NotFound(f"organization {organization_id} not found")
