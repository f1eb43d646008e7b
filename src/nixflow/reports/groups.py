"""What CSAT and time reports group by: a dimension's key for a row, and the name people read for each key."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Connection, select

from nixflow.store.tables import categories, organizations, users

Dimension = Literal["agent", "category", "organization", "week", "month", "ticket"]
_NAMED = {"agent": users, "category": categories, "organization": organizations}


def period_key(at: datetime, by: Dimension) -> str:
    """The week (its Monday, ISO date) or month (`YYYY-MM`) of `at`, in UTC."""
    if by == "week":
        day: date = at.date() - timedelta(days=at.weekday())
        return day.isoformat()
    return f"{at.year:04d}-{at.month:02d}"


def labels(conn: Connection, by: Dimension, keys: Iterable[Any]) -> dict[Any, str]:
    """The names of the keys of an agent, category or organization grouping; other groupings name themselves."""
    wanted = sorted({k for k in keys if isinstance(k, int)})
    table = _NAMED.get(by)
    if table is None or not wanted:
        return {}
    return {r.id: r.name for r in conn.execute(select(table.c.id, table.c.name).where(table.c.id.in_(wanted)))}


def ordered(rows: dict[Any, dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows in key order, none (no agent, no category) last."""
    return [rows[k] for k in sorted(rows, key=lambda k: (k is None, str(k).zfill(20) if isinstance(k, int) else k))]
