"""Watchers: people told about a ticket's changes though it is not theirs (agents watching, CC'd users)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, insert, or_, select

from nixflow.domain.errors import Forbidden, NotFound, ValidationFailed
from nixflow.domain.values import Priority, Role
from nixflow.services import tickets
from nixflow.services.users import Principal
from nixflow.store.db import Tx
from nixflow.store.tables import SYSTEM_USER_ID, ticket_watchers, users


def list_watchers(conn: Connection, *, viewer: Principal, ticket_id: int) -> list[dict[str, Any]]:
    """Who watches a ticket. Staff see everyone; a requester (on their own ticket) sees themselves and the people
    they added, shown by the address they typed: never a name, nor a watcher, they did not bring."""
    tickets.load(conn, ticket_id=ticket_id, viewer=viewer)
    query = (
        select(ticket_watchers.c.user_id, users.c.name, users.c.email, ticket_watchers.c.added_by,
               ticket_watchers.c.created_at)
        .join(users, users.c.id == ticket_watchers.c.user_id)
        .where(ticket_watchers.c.ticket_id == ticket_id)
        .order_by(ticket_watchers.c.created_at, ticket_watchers.c.user_id)
    )  # fmt: skip
    if viewer.is_staff:
        return [_shown(r, name=r.name) for r in conn.execute(query)]
    mine = query.where(or_(ticket_watchers.c.user_id == viewer.id, ticket_watchers.c.added_by == viewer.id))
    return [_shown(r, name=r.name if r.user_id == viewer.id else r.email) for r in conn.execute(mine)]


def _shown(row: Any, *, name: str) -> dict[str, Any]:
    return {"user_id": row.user_id, "name": name, "email": row.email, "created_at": row.created_at}


def _emit(tx: Tx, ticket: dict[str, Any], event_type: str, actor: Principal, watcher_id: int) -> None:
    tx.emit(
        event_type,
        aggregate_type="ticket",
        aggregate_id=ticket["id"],
        priority=Priority(ticket["priority"]),
        data={"ticket_id": ticket["id"], "by_id": actor.id, "watcher_id": watcher_id},
    )


def _person(conn: Connection, *, user_id: int | None, email: str | None) -> Any | None:
    """The active user meant, or None."""
    clause = users.c.id == user_id if user_id is not None else users.c.email == (email or "").strip().lower()
    row = conn.execute(select(users.c.id, users.c.active, users.c.role).where(clause)).first()
    return None if row is None or row.id == SYSTEM_USER_ID or not row.active else row


def add(tx: Tx, *, actor: Principal, ticket_id: int, user_id: int | None, email: str | None) -> dict[str, Any]:
    """Add a watcher: staff by id or email; a requester CCs an existing user by email on their own ticket.

    A requester's answer is the same whether or not the address has an account (what they typed, no user id):
    the endpoint must not tell them who has one. Staff, who may list users, get the id or a 404."""
    ticket = tickets.load(tx.conn, ticket_id=ticket_id, viewer=actor)
    if (user_id is None) == (email is None):
        raise ValidationFailed("give exactly one of user_id and email", errors=[{"loc": ["body"], "msg": "invalid"}])
    if not actor.is_staff and user_id is not None:
        raise Forbidden("requesters add people by email")
    person = _person(tx.conn, user_id=user_id, email=email)
    if person is not None:
        _watch(tx, ticket, actor, int(person.id))
    if not actor.is_staff:
        return {"ticket_id": ticket_id, "user_id": None, "email": email}
    if person is None:
        # A referenced person who does not exist is an unknown id (404), as for categories and assignees.
        raise NotFound("no active user with that " + ("user_id" if user_id is not None else "email"))
    return {"ticket_id": ticket_id, "user_id": int(person.id), "email": email}


def _watch(tx: Tx, ticket: dict[str, Any], actor: Principal, user_id: int) -> None:
    exists = tx.conn.execute(
        select(ticket_watchers.c.user_id).where(
            ticket_watchers.c.ticket_id == ticket["id"], ticket_watchers.c.user_id == user_id
        )
    ).first()
    if exists is None:
        tx.conn.execute(
            insert(ticket_watchers).values(
                ticket_id=ticket["id"], user_id=user_id, added_by=actor.id, created_at=tx.now
            )
        )
        _emit(tx, ticket, "ticket.watcher_added", actor, user_id)


def remove(tx: Tx, *, actor: Principal, ticket_id: int, user_id: int) -> None:
    """Remove a watcher: staff anyone; anyone themselves (even on a ticket they cannot read, as a CC'd user);
    a requester the people on their own ticket, but not staff (403)."""
    ticket = tickets.load(tx.conn, ticket_id=ticket_id, viewer=None if user_id == actor.id else actor)
    watching = tx.conn.execute(
        select(users.c.role)
        .join(ticket_watchers, ticket_watchers.c.user_id == users.c.id)
        .where(ticket_watchers.c.ticket_id == ticket_id, ticket_watchers.c.user_id == user_id)
    ).first()
    if watching is None:
        if user_id == actor.id and not _visible(tx.conn, actor, ticket_id):
            raise NotFound(f"ticket {ticket_id} not found")  # as for any ticket they cannot read
        raise NotFound(f"user {user_id} does not watch ticket {ticket_id}")
    if not actor.is_staff and user_id != actor.id and Role(watching.role) in (Role.ADMIN, Role.AGENT):
        raise Forbidden("a requester cannot remove staff watching the ticket")
    tx.conn.execute(
        delete(ticket_watchers).where(ticket_watchers.c.ticket_id == ticket_id, ticket_watchers.c.user_id == user_id)
    )
    _emit(tx, ticket, "ticket.watcher_removed", actor, user_id)


def _visible(conn: Connection, viewer: Principal, ticket_id: int) -> bool:
    try:
        tickets.load(conn, ticket_id=ticket_id, viewer=viewer)
    except NotFound:
        return False
    return True
