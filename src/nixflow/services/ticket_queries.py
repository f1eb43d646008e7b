"""Reading tickets in bulk: filtered, cursor-paginated lists and who requested what."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, or_, select

from nixflow.domain.errors import Forbidden
from nixflow.domain.tickets import Status
from nixflow.domain.values import Priority
from nixflow.services.ticket_order import NEWEST_FIRST, Order, assignees
from nixflow.services.users import Principal
from nixflow.services.visibility import Audience
from nixflow.store import organizations, ticket_tags
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
    tag: str | None = None  # normalised (domain/tags.py)
    organization_id: int | None = None  # the organization it was opened under


def list_tickets(
    conn: Connection,
    *,
    viewer: Principal,
    flt: TicketFilter,
    limit: int = 50,
    cursor: str | None = None,
    order: Order = NEWEST_FIRST,
) -> tuple[list[dict[str, Any]], str | None]:
    """Tickets the viewer may see in `order` (default newest first), and the next page's cursor."""
    clauses: list[Any] = []
    if not viewer.is_staff:
        clauses.append(organizations.requester_scope(viewer.id))
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
    if flt.tag is not None:
        if not viewer.is_staff:
            raise Forbidden("tags are for agents and admins")
        clauses.append(tickets.c.id.in_(ticket_tags.tickets_tagged(flt.tag)))
    if flt.organization_id is not None:
        clauses.append(tickets.c.organization_id == flt.organization_id)
    if flt.q:
        pattern = "%" + flt.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        clauses.append(
            or_(tickets.c.title.ilike(pattern, escape="\\"), tickets.c.description.ilike(pattern, escape="\\"))
        )
    if cursor:
        clauses.append(order.after(cursor))
    query = select(tickets, order.expression.label("sort_value"))
    if order.joins_assignee:
        query = query.select_from(tickets.outerjoin(assignees, assignees.c.id == tickets.c.assignee_id))
    rows = conn.execute(query.where(and_(True, *clauses)).order_by(*order.order_by()).limit(limit + 1)).all()
    items = [dict(r._mapping) for r in rows[:limit]]
    values = [item.pop("sort_value") for item in items]
    next_cursor = order.cursor(values[-1], items[-1]["id"]) if len(rows) > limit else None
    return items, next_cursor


def audience_of(conn: Connection, ticket_ids: Sequence[int], people: Sequence[int]) -> dict[int, Audience]:
    """Ticket id → who besides staff sees it (of `people`, the colleagues it is shared with), for deciding who
    may see a ticket's events: two queries, whatever the number of tickets and people."""
    if not ticket_ids:
        return {}
    columns = tickets.c.id, tickets.c.requester_id, tickets.c.organization_id
    found = conn.execute(select(*columns).where(tickets.c.id.in_(ticket_ids))).all()
    pairs = organizations.sharers(conn, organization_ids=[o for _, _, o in found if o is not None], user_ids=people)
    return {int(t): Audience(int(r), frozenset(u for org, u in pairs if org == o)) for t, r, o in found}
