"""Who has how much open work now: per assignee, open tickets by status and priority, and how many are overdue."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, case, func, select

from nixflow.domain.tickets import OPEN_STATUSES
from nixflow.domain.values import Priority
from nixflow.store.tables import tickets

STATUSES = [s.value for s in OPEN_STATUSES]
PRIORITIES = [p.value for p in sorted(Priority, key=lambda p: p.rank)]  # critical first


def _empty(assignee_id: int | None, name: str) -> dict[str, Any]:
    return {
        "assignee_id": assignee_id,
        "name": name,
        "open": 0,
        "by_status": dict.fromkeys(STATUSES, 0),
        "by_priority": dict.fromkeys(PRIORITIES, 0),
        "overdue": 0,
    }


def open_by_assignee(conn: Connection, *, now: datetime, people: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per person in `people` (id, name; each listed even with nothing open), then one for unassigned
    tickets: `open`, `by_status`, `by_priority` and `overdue` (resolution due before `now`, clock running)."""
    late = case(((tickets.c.resolution_due < now) & tickets.c.sla_paused_since.is_(None), 1), else_=0)
    counts = conn.execute(
        select(tickets.c.assignee_id, tickets.c.status, tickets.c.priority, func.count(), func.sum(late))
        .where(tickets.c.status.in_(STATUSES))
        .group_by(tickets.c.assignee_id, tickets.c.status, tickets.c.priority)
    )
    rows = {p["id"]: _empty(p["id"], p["name"]) for p in people}
    rows[None] = _empty(None, "Unassigned")
    for assignee_id, status, priority, count, overdue in counts:
        # Someone not in `people` (deactivated since) still has their row: the work is still theirs.
        row = rows.setdefault(assignee_id, _empty(assignee_id, f"#{assignee_id}"))
        row["open"] += int(count)
        row["by_status"][status] += int(count)
        row["by_priority"][priority] += int(count)
        row["overdue"] += int(overdue or 0)
    return list(rows.values())
