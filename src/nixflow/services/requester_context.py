"""Who asked: a ticket's requester with their other open and recent tickets, beside the ticket for staff."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from nixflow.domain.errors import Forbidden
from nixflow.domain.tickets import Status
from nixflow.services import tickets as ticket_service
from nixflow.services.users import Principal
from nixflow.store.tables import tickets, users

OPEN = (Status.NEW.value, Status.OPEN.value, Status.PENDING.value)
_FIELDS = (tickets.c.id, tickets.c.title, tickets.c.status, tickets.c.priority, tickets.c.updated_at)


def context(conn: Connection, *, viewer: Principal, ticket_id: int, limit: int = 5) -> dict[str, Any]:
    """The requester of `ticket_id` (name, email, since when) and up to `limit` of their other open tickets and
    of their other recently resolved or closed ones, newest first. Staff only: it names other tickets."""
    if not viewer.is_staff:
        raise Forbidden("agents and admins only")
    ticket = ticket_service.load(conn, ticket_id=ticket_id, viewer=viewer)
    who = conn.execute(
        select(users.c.id, users.c.name, users.c.email, users.c.created_at, users.c.fields).where(
            users.c.id == ticket["requester_id"]
        )
    ).one()
    others = select(*_FIELDS).where(tickets.c.requester_id == who.id, tickets.c.id != ticket_id)

    def listed(statuses: tuple[str, ...]) -> list[dict[str, Any]]:
        query = others.where(tickets.c.status.in_(statuses)).order_by(tickets.c.id.desc()).limit(limit)
        return [dict(r._mapping) for r in conn.execute(query)]

    return {
        "requester": {
            "id": who.id,
            "name": who.name,
            "email": who.email,
            "since": who.created_at,
            "fields": dict(who.fields or {}),  # custom user fields (staff see every one)
        },
        "open": listed(OPEN),
        "recent": listed((Status.RESOLVED.value, Status.CLOSED.value)),
    }
