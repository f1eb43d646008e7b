"""Tickets per status, priority, category and assignee, from the counters triggers keep (migration 0030)."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import Connection, func, select

from nixflow.store.tables import NULL_ID, ticket_counts

_C = ticket_counts.c


def matching(
    conn: Connection,
    *,
    statuses: Collection[str] | None = None,
    priority: str | None = None,
    category_id: int | None = None,
    assignee_id: int | None = None,
    unassigned: bool = False,
) -> int:
    """How many tickets have one of `statuses` (any when None) and the given priority, category and assignee
    (`unassigned`: none): a sum over at most statuses x priorities x categories x assignees rows."""
    query = select(func.coalesce(func.sum(_C.n), 0))
    if statuses is not None:
        query = query.where(_C.status.in_(sorted(statuses)))
    if priority is not None:
        query = query.where(_C.priority == priority)
    if category_id is not None:
        query = query.where(_C.category_id == category_id)
    if assignee_id is not None:
        query = query.where(_C.assignee_id == assignee_id)
    if unassigned:
        query = query.where(_C.assignee_id == NULL_ID)
    return int(conn.execute(query).scalar_one())
