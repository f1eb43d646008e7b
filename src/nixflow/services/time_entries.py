"""Time entries: minutes agents spend on a ticket (billable or not, with a note). Staff only: requesters never
see them. Each change is an event on the ticket (`ticket.time_logged`, `_changed`, `_deleted`) carrying the entry;
entries are not ticket state, so they never move the ticket's version."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from nixflow.domain.errors import Forbidden, NotFound
from nixflow.domain.values import Priority
from nixflow.services import tickets
from nixflow.services.users import Principal
from nixflow.store.db import Tx, insert_returning_id
from nixflow.store.tables import time_entries, users

_COLUMNS = (*time_entries.c, users.c.name.label("agent_name"))


def listed(conn: Connection, *, ticket_id: int) -> dict[str, Any]:
    """The ticket's entries, oldest first, with their totals (`TimeEntries`)."""
    tickets.load(conn, ticket_id=ticket_id)
    rows = conn.execute(
        select(*_COLUMNS)
        .join(users, users.c.id == time_entries.c.agent_id)
        .where(time_entries.c.ticket_id == ticket_id)
        .order_by(time_entries.c.created_at, time_entries.c.id)
    )
    items = [dict(r._mapping) for r in rows]
    return {
        "ticket_id": ticket_id,
        "total_minutes": sum(i["minutes"] for i in items),
        "billable_minutes": sum(i["minutes"] for i in items if i["billable"]),
        "items": items,
    }


def totals(conn: Connection, *, ticket_id: int) -> dict[str, int]:
    """The ticket's minutes in all and billable (what the ticket page shows at a glance)."""
    billable = func.coalesce(func.sum(time_entries.c.minutes).filter(time_entries.c.billable.is_(True)), 0)
    row = conn.execute(
        select(func.coalesce(func.sum(time_entries.c.minutes), 0), billable).where(
            time_entries.c.ticket_id == ticket_id
        )
    ).one()
    return {"total_minutes": int(row[0]), "billable_minutes": int(row[1])}


def log(tx: Tx, *, actor: Principal, ticket_id: int, minutes: int, billable: bool, note: str) -> dict[str, Any]:
    """Log `minutes` on the ticket for the acting agent; emits `ticket.time_logged`."""
    ticket = tickets.current(tx, ticket_id=ticket_id)
    values: dict[str, Any] = {
        "ticket_id": ticket_id,
        "agent_id": actor.id,
        "minutes": minutes,
        "billable": billable,
        "note": note.strip(),
        "created_at": tx.now,
        "updated_at": tx.now,
    }
    values["id"] = insert_returning_id(tx.conn, insert(time_entries), values)
    _emit(tx, ticket, "ticket.time_logged", values)
    return _entry(tx.conn, int(values["id"]))


def change(tx: Tx, *, actor: Principal, ticket_id: int, entry_id: int, **changes: Any) -> dict[str, Any]:
    """Change one's own entry (`minutes`, `billable`, `note`: those given); emits `ticket.time_entry_changed`."""
    ticket, before = _own(tx, actor=actor, ticket_id=ticket_id, entry_id=entry_id)
    values = {k: (v.strip() if k == "note" else v) for k, v in changes.items() if v is not None}
    if not values:
        return before
    tx.conn.execute(update(time_entries).where(time_entries.c.id == entry_id).values(**values, updated_at=tx.now))
    after = _entry(tx.conn, entry_id)
    _emit(tx, ticket, "ticket.time_entry_changed", after)
    return after


def remove(tx: Tx, *, actor: Principal, ticket_id: int, entry_id: int) -> None:
    """Delete one's own entry; emits `ticket.time_entry_deleted` with the entry as it was."""
    ticket, before = _own(tx, actor=actor, ticket_id=ticket_id, entry_id=entry_id)
    tx.conn.execute(delete(time_entries).where(time_entries.c.id == entry_id))
    _emit(tx, ticket, "ticket.time_entry_deleted", before)


def move(tx: Tx, *, from_ticket_id: int, to_ticket_id: int) -> int:
    """Move every time entry of one ticket to another (a merge: the time was spent on the one problem); each is a
    `ticket.time_entry_changed` on the ticket it moved to, naming where it came from. Returns how many moved."""
    survivor = tickets.current(tx, ticket_id=to_ticket_id)
    ids = tx.conn.execute(select(time_entries.c.id).where(time_entries.c.ticket_id == from_ticket_id)).scalars().all()
    for entry_id in ids:
        tx.conn.execute(update(time_entries).where(time_entries.c.id == entry_id).values(ticket_id=to_ticket_id))
        _emit(tx, survivor, "ticket.time_entry_changed", _entry(tx.conn, entry_id), moved_from=from_ticket_id)
    return len(ids)


def _own(tx: Tx, *, actor: Principal, ticket_id: int, entry_id: int) -> tuple[dict[str, Any], dict[str, Any]]:
    ticket = tickets.current(tx, ticket_id=ticket_id)
    entry = _entry(tx.conn, entry_id)
    if entry["ticket_id"] != ticket_id:
        raise NotFound(f"time entry {entry_id} not found on ticket {ticket_id}")
    if entry["agent_id"] != actor.id:
        raise Forbidden("agents change and delete their own time entries only")
    return ticket, entry


def _entry(conn: Connection, entry_id: int) -> dict[str, Any]:
    row = conn.execute(
        select(*_COLUMNS).join(users, users.c.id == time_entries.c.agent_id).where(time_entries.c.id == entry_id)
    ).first()
    if row is None:
        raise NotFound(f"time entry {entry_id} not found")
    return dict(row._mapping)


def _emit(
    tx: Tx, ticket: dict[str, Any], event_type: str, entry: dict[str, Any], *, moved_from: int | None = None
) -> None:
    tx.emit(
        event_type,
        aggregate_type="ticket",
        aggregate_id=ticket["id"],
        priority=Priority(ticket["priority"]),
        data={
            "ticket_id": ticket["id"],
            "entry_id": entry["id"],
            "agent_id": entry["agent_id"],
            "minutes": entry["minutes"],
            "billable": entry["billable"],
            "note": entry["note"],
            "moved_from": moved_from,
        },
    )
