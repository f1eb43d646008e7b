"""Watchers: people told about a ticket's changes though it is not theirs (agents watching, CC'd users)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, insert, select

from nixflow.domain.errors import Forbidden, NotFound, ValidationFailed
from nixflow.domain.values import Priority
from nixflow.services import tickets
from nixflow.services.users import Principal
from nixflow.store.db import Tx
from nixflow.store.tables import SYSTEM_USER_ID, ticket_watchers, users


def list_watchers(conn: Connection, *, viewer: Principal, ticket_id: int) -> list[dict[str, Any]]:
    """Who watches a ticket (a requester: only their own ticket's)."""
    tickets.load(conn, ticket_id=ticket_id, viewer=viewer)
    rows = conn.execute(
        select(ticket_watchers.c.user_id, users.c.name, users.c.email, ticket_watchers.c.created_at)
        .join(users, users.c.id == ticket_watchers.c.user_id)
        .where(ticket_watchers.c.ticket_id == ticket_id)
        .order_by(ticket_watchers.c.created_at, ticket_watchers.c.user_id)
    )
    return [dict(r._mapping) for r in rows]


def _emit(tx: Tx, ticket: dict[str, Any], event_type: str, actor: Principal, watcher_id: int) -> None:
    tx.emit(
        event_type,
        aggregate_type="ticket",
        aggregate_id=ticket["id"],
        priority=Priority(ticket["priority"]),
        data={"ticket_id": ticket["id"], "by_id": actor.id, "watcher_id": watcher_id},
    )


def _person(conn: Connection, *, user_id: int | None, email: str | None) -> Any:
    clause = users.c.id == user_id if user_id is not None else users.c.email == (email or "").strip().lower()
    row = conn.execute(select(users.c.id, users.c.active).where(clause)).first()
    if row is None or row.id == SYSTEM_USER_ID or not row.active:
        # A referenced person who does not exist is an unknown id (404), as for categories and assignees.
        raise NotFound("no active user with that " + ("user_id" if user_id is not None else "email"))
    return row


def add(tx: Tx, *, actor: Principal, ticket_id: int, user_id: int | None, email: str | None) -> dict[str, Any]:
    """Add a watcher: staff by id or email; a requester CCs an existing user by email on their own ticket."""
    ticket = tickets.load(tx.conn, ticket_id=ticket_id, viewer=actor)
    if (user_id is None) == (email is None):
        raise ValidationFailed("give exactly one of user_id and email", errors=[{"loc": ["body"], "msg": "invalid"}])
    if not actor.is_staff and user_id is not None:
        raise Forbidden("requesters add people by email")
    person = _person(tx.conn, user_id=user_id, email=email)
    exists = tx.conn.execute(
        select(ticket_watchers.c.user_id).where(
            ticket_watchers.c.ticket_id == ticket_id, ticket_watchers.c.user_id == person.id
        )
    ).first()
    if exists is None:
        tx.conn.execute(
            insert(ticket_watchers).values(ticket_id=ticket_id, user_id=person.id, added_by=actor.id, created_at=tx.now)
        )
        _emit(tx, ticket, "ticket.watcher_added", actor, int(person.id))
    return {"ticket_id": ticket_id, "user_id": int(person.id)}


def remove(tx: Tx, *, actor: Principal, ticket_id: int, user_id: int) -> None:
    """Remove a watcher: staff anyone, a requester the people on their own ticket, anyone themselves."""
    ticket = tickets.load(tx.conn, ticket_id=ticket_id, viewer=actor)
    done = tx.conn.execute(
        delete(ticket_watchers).where(ticket_watchers.c.ticket_id == ticket_id, ticket_watchers.c.user_id == user_id)
    )
    if done.rowcount == 0:
        raise NotFound(f"user {user_id} does not watch ticket {ticket_id}")
    _emit(tx, ticket, "ticket.watcher_removed", actor, user_id)
