"""Watchers: people told about a ticket's changes though it is not theirs (agents watching, CC'd users)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, delete, func, insert, or_, select

from nixflow.config import Settings
from nixflow.domain.errors import Forbidden, NotFound, TooManyRequests, ValidationFailed
from nixflow.domain.values import Priority, Role
from nixflow.services import passwordless, tickets
from nixflow.services import users as users_service
from nixflow.services.users import Principal
from nixflow.store.db import Tx
from nixflow.store.tables import SYSTEM_USER_ID, events, ticket_watchers, users


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


@dataclass(frozen=True)
class Bounds:
    """How far adding watchers goes: per ticket, and a requester's CCs an hour; where a new account may come from."""

    max_per_ticket: int
    cc_per_hour: int
    allowed_domains: frozenset[str] | None

    @classmethod
    def of(cls, settings: Settings) -> Bounds:
        return cls(settings.watchers_max_per_ticket, settings.watchers_cc_per_hour, settings.allowed_mail_domains)


def add(
    tx: Tx, *, actor: Principal, ticket_id: int, user_id: int | None, email: str | None, bounds: Bounds
) -> dict[str, Any]:
    """Add a watcher: staff by id or email; a requester CCs anyone by email on their own ticket.

    A requester's answer and list are the same whether or not the address has an account: one without becomes a
    requester without a password (as an unknown mail sender does), an inactive one is added but never told.
    Staff, who may list users, get the id or a 404."""
    ticket = tickets.load(tx.conn, ticket_id=ticket_id, viewer=actor)
    if (user_id is None) == (email is None):
        raise ValidationFailed("give exactly one of user_id and email", errors=[{"loc": ["body"], "msg": "invalid"}])
    if not actor.is_staff and user_id is not None:
        raise Forbidden("requesters add people by email")
    _within_ticket_bound(tx.conn, ticket_id, bounds.max_per_ticket)
    if not actor.is_staff:
        address = (email or "").strip().lower()
        _cc(tx, ticket, actor, address, bounds)
        return {"ticket_id": ticket_id, "user_id": None, "email": email}
    clause = users.c.id == user_id if user_id is not None else users.c.email == (email or "").strip().lower()
    person = tx.conn.execute(select(users.c.id, users.c.active).where(clause)).first()
    if person is None or person.id == SYSTEM_USER_ID or not person.active:
        # A referenced person who does not exist is an unknown id (404), as for categories and assignees.
        raise NotFound("no active user with that " + ("user_id" if user_id is not None else "email"))
    _watch(tx, ticket, actor, int(person.id))
    return {"ticket_id": ticket_id, "user_id": int(person.id), "email": email}


def _cc(tx: Tx, ticket: dict[str, Any], actor: Principal, address: str, bounds: Bounds) -> None:
    """A requester's CC: every check comes before the address is looked up, so no outcome depends on an account."""
    refused = passwordless.refusal(address, bounds.allowed_domains)
    if refused is not None:
        raise ValidationFailed(f"cannot add {address}: {refused}", errors=[{"loc": ["body", "email"], "msg": refused}])
    _within_cc_rate(tx, actor, bounds.cc_per_hour)
    row = users_service.find_by_email(tx.conn, email=address)
    if row is None:
        _watch(tx, ticket, actor, passwordless.create(tx, email=address, name=address).id)
    elif row.id != SYSTEM_USER_ID:  # automation's own address: nobody to tell, and no private account either
        _watch(tx, ticket, actor, int(row.id))


def _within_ticket_bound(conn: Connection, ticket_id: int, most: int) -> None:
    count = conn.execute(
        select(func.count()).select_from(ticket_watchers).where(ticket_watchers.c.ticket_id == ticket_id)
    ).scalar_one()
    if count >= most:
        raise ValidationFailed(
            f"ticket {ticket_id} has {most} watchers already, the most it may have",
            errors=[{"loc": ["body"], "msg": f"at most {most} watchers per ticket"}],
        )


def _within_cc_rate(tx: Tx, actor: Principal, per_hour: int) -> None:
    """TooManyRequests once `actor` added `per_hour` watchers in the last hour (counted in the event log, which
    removing a watcher does not shorten)."""
    since = tx.now - timedelta(hours=1)
    added = tx.conn.execute(
        select(events.c.timestamp)
        .where(events.c.event_type == "ticket.watcher_added", events.c.actor_id == actor.id, events.c.timestamp > since)
        .order_by(events.c.timestamp)
        .limit(per_hour)
    ).all()
    if len(added) >= per_hour:
        wait = math.ceil((added[0].timestamp - since).total_seconds())
        raise TooManyRequests(
            f"too many watchers added: at most {per_hour} an hour; try again in {wait} seconds",
            retry_after=max(1, wait),
        )


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
