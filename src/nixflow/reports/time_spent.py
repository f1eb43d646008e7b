"""Time totals: minutes logged (all, and billable) per agent, organization (the ticket's), month or ticket.

Read from `time_entries`; an entry counts in the month it was logged. Period: `since <= created_at < until`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Connection, select

from nixflow.reports.groups import labels, ordered, period_key
from nixflow.store.tables import tickets, time_entries

TimeDimension = Literal["agent", "organization", "month", "ticket"]


def totals(
    conn: Connection, by: TimeDimension, *, since: datetime | None, until: datetime | None
) -> list[dict[str, Any]]:
    """One row per group: `{key, label, minutes, billable_minutes, entries}` (`until` None: up to now, included)."""
    t = time_entries.c
    query = select(t.ticket_id, t.agent_id, t.minutes, t.billable, t.created_at, tickets.c.organization_id).join(
        tickets, tickets.c.id == t.ticket_id
    )
    if until is not None:
        query = query.where(t.created_at < until)
    if since is not None:
        query = query.where(t.created_at >= since)
    rows: dict[Any, dict[str, Any]] = {}
    for entry in conn.execute(query):
        key = _key(entry._mapping, by)
        row = rows.setdefault(key, {"key": key, "minutes": 0, "billable_minutes": 0, "entries": 0})
        row["minutes"] += entry.minutes
        row["billable_minutes"] += entry.minutes if entry.billable else 0
        row["entries"] += 1
    names = labels(conn, by, rows)
    for key, row in rows.items():
        row["label"] = names.get(key, "none" if key is None else (f"#{key}" if by == "ticket" else str(key)))
    return ordered(rows)


def _key(entry: Any, by: TimeDimension) -> Any:
    if by == "month":
        return period_key(entry["created_at"], "month")
    return entry[{"agent": "agent_id", "organization": "organization_id", "ticket": "ticket_id"}[by]]
