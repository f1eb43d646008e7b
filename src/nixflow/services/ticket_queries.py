"""Reading tickets in bulk: filtered, cursor-paginated lists and who requested what."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, or_, select

from nixflow.domain.errors import ValidationFailed
from nixflow.domain.tickets import Status
from nixflow.domain.values import Priority
from nixflow.ids import decode_cursor, encode_cursor
from nixflow.services.users import Principal
from nixflow.store.tables import tickets


@dataclass(frozen=True)
class TicketFilter:
    status: Status | None = None
    statuses: frozenset[Status] | None = None  # any of these (the queue's "open" view)
    priority: Priority | None = None
    assignee_id: int | None = None
    unassigned: bool = False
    category_id: int | None = None
    q: str | None = None


def list_tickets(
    conn: Connection, *, viewer: Principal, flt: TicketFilter, limit: int = 50, cursor: str | None = None
) -> tuple[list[dict[str, Any]], str | None]:
    """Tickets the viewer may see, newest first, and the next page's cursor."""
    clauses: list[Any] = []
    if not viewer.is_staff:
        clauses.append(tickets.c.requester_id == viewer.id)
    if flt.status:
        clauses.append(tickets.c.status == flt.status.value)
    if flt.statuses:
        clauses.append(tickets.c.status.in_(sorted(s.value for s in flt.statuses)))
    if flt.priority:
        clauses.append(tickets.c.priority == flt.priority.value)
    if flt.assignee_id is not None:
        clauses.append(tickets.c.assignee_id == flt.assignee_id)
    if flt.unassigned:
        clauses.append(tickets.c.assignee_id.is_(None))
    if flt.category_id is not None:
        clauses.append(tickets.c.category_id == flt.category_id)
    if flt.q:
        pattern = "%" + flt.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        clauses.append(
            or_(tickets.c.title.ilike(pattern, escape="\\"), tickets.c.description.ilike(pattern, escape="\\"))
        )
    if cursor:
        clauses.append(tickets.c.id < _decode(cursor))
    rows = conn.execute(
        select(tickets).where(and_(True, *clauses)).order_by(tickets.c.id.desc()).limit(limit + 1)
    ).all()
    items = [dict(r._mapping) for r in rows[:limit]]
    next_cursor = _encode(items[-1]["id"]) if len(rows) > limit else None
    return items, next_cursor


def _encode(ticket_id: int) -> str:
    return encode_cursor("t", ticket_id)


def _decode(cursor: str) -> int:
    found = decode_cursor("t", cursor)
    if found is None:
        raise ValidationFailed("cursor is not valid")
    return found


def requester_of(conn: Connection, ticket_ids: Sequence[int]) -> dict[int, int]:
    """Ticket id → requester id, for deciding who may see a ticket's events."""
    if not ticket_ids:
        return {}
    rows = conn.execute(select(tickets.c.id, tickets.c.requester_id).where(tickets.c.id.in_(ticket_ids)))
    return {int(r[0]): int(r[1]) for r in rows}
