"""`report_days`: the report facts counted per UTC day and per the ticket's current category, assignee and
priority, kept by the projection in the unit of work of each event (migration 0030).

A ticket's facts are filed under its current attributes, as the reports filter them; when one of those
changes, everything the ticket contributed moves from the old key to the new one (`moved`), a handful of rows.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Connection, bindparam, cast, delete, func, literal, select
from sqlalchemy.dialects import postgresql, sqlite

from nixflow.store.fast import Fast
from nixflow.store.tables import NULL_ID, REPORT_DAY_MEASURES, report_days, report_sla, report_spells, report_tickets

MEASURES = REPORT_DAY_MEASURES  # created, spells opened and solved, reopens, SLA outcomes per target
KEYS = ("day", "category_id", "assignee_id", "priority")
Key = tuple[int | None, int | None, str]  # category, assignee, priority (as report_tickets holds them)
Tally = tuple[int, str, int]  # day, measure, +1 / -1
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)


def day_of(at: datetime) -> int:
    """Whole UTC days since the epoch (floored)."""
    return (at - EPOCH) // DAY


def start_of(day: int) -> datetime:
    """The UTC midnight that starts `day`."""
    return EPOCH + day * DAY


@functools.cache
def _upsert(dialect: str) -> Any:
    row = {k: bindparam(f"b_{k}", type_=report_days.c[k].type) for k in (*KEYS, *MEASURES)}
    statement = (postgresql if dialect == "postgresql" else sqlite).insert(report_days).values(**row)
    added = {m: report_days.c[m] + statement.excluded[m] for m in MEASURES}
    return statement.on_conflict_do_update(index_elements=list(KEYS), set_=added)


def _rows(key: Key, tallies: Iterable[Tally]) -> list[dict[str, Any]]:
    category_id, assignee_id, priority = key
    by_day: dict[int, dict[str, int]] = {}
    for day, measure, n in tallies:
        counts = by_day.setdefault(day, dict.fromkeys(MEASURES, 0))
        counts[measure] += n
    return [
        {"b_day": day, "b_category_id": _id(category_id), "b_assignee_id": _id(assignee_id), "b_priority": priority}
        | {f"b_{m}": n for m, n in counts.items()}
        for day, counts in by_day.items()
    ]


def _lock_order(row: Mapping[str, Any]) -> tuple[int, int, int, str]:
    return (row["b_day"], row["b_category_id"], row["b_assignee_id"], row["b_priority"])


def _upsert_rows(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """One statement, its rows in key order: two transactions updating the same rows take their locks in the same
    order, so on PostgreSQL they wait for each other instead of deadlocking (a move from A to B beside one from B
    to A did)."""
    if rows:
        conn.execute(_upsert(conn.dialect.name), sorted(rows, key=_lock_order))


def tally(conn: Connection, key: Key, tallies: Iterable[Tally]) -> None:
    """Add each (day, measure, n) to the counters of `key`."""
    _upsert_rows(conn, _rows(key, tallies))


def tally_many(conn: Connection, keyed: Iterable[tuple[Key, Iterable[Tally]]]) -> None:
    """`tally` for several keys in one statement, each counter row once (the sum of what falls on it)."""
    rows: dict[tuple[int, int, int, str], dict[str, Any]] = {}
    for key, tallies in keyed:
        for row in _rows(key, tallies):
            found = rows.setdefault(_lock_order(row), row)
            if found is not row:
                for measure in MEASURES:
                    found[f"b_{measure}"] += row[f"b_{measure}"]
    _upsert_rows(conn, list(rows.values()))


def _id(value: int | None) -> int:
    return NULL_ID if value is None else int(value)


_KEY = Fast(
    select(report_tickets.c.category_id, report_tickets.c.assignee_id, report_tickets.c.priority).where(
        report_tickets.c.ticket_id == bindparam("b_ticket_id")
    )
)  # built once: every SLA breach and every change of a ticket's key reads it


def keys_of(conn: Connection, ticket_ids: Sequence[int]) -> dict[int, Key]:
    """The current keys of the tickets the reports know, by ticket id."""
    t = report_tickets.c
    query = select(t.ticket_id, t.category_id, t.assignee_id, t.priority).where(t.ticket_id.in_(ticket_ids))
    return {int(r.ticket_id): (r.category_id, r.assignee_id, r.priority) for r in conn.execute(query)}


def key_of(conn: Connection, ticket_id: int) -> Key | None:
    """The ticket's current key, or None when the reports do not know the ticket."""
    row = _KEY.first(conn, {"b_ticket_id": ticket_id})
    return None if row is None else (row["category_id"], row["assignee_id"], row["priority"])


def contributions(conn: Connection, ticket_id: int) -> list[Tally]:
    """Everything one ticket adds to the counters, from its rows in the read models."""
    t, s, g = report_tickets.c, report_spells.c, report_sla.c
    created = conn.execute(select(t.created_at).where(t.ticket_id == ticket_id)).scalar_one()
    found: list[Tally] = [(day_of(created), "created", 1)]
    for spell, opened_at, solved_at in conn.execute(
        select(s.spell, s.opened_at, s.solved_at).where(s.ticket_id == ticket_id)
    ):
        found.append((day_of(opened_at), "opened", 1))
        if spell > 0:
            found.append((day_of(opened_at), "reopens", 1))
        if solved_at is not None:
            found.append((day_of(solved_at), "solved", 1))
    for target, outcome, at in conn.execute(select(g.target, g.outcome, g.at).where(g.ticket_id == ticket_id)):
        found.append((day_of(at), f"{target}_{outcome}", 1))
    return found


def microseconds(conn: Connection, stop: Any, start: Any) -> ColumnElement[Any]:
    """`stop - start` in whole microseconds, exactly, in the database (a duration the reports keep)."""
    if conn.dialect.name == "postgresql":
        return cast((func.extract("epoch", stop) - func.extract("epoch", start)) * 1_000_000, BigInteger)
    seconds = cast(func.strftime("%s", stop), BigInteger) - cast(func.strftime("%s", start), BigInteger)
    fraction = cast(func.substr(stop, 21, 6), BigInteger) - cast(func.substr(start, 21, 6), BigInteger)
    return seconds * literal(1_000_000) + fraction


def replaced(key: Key, column: str, value: Any) -> Key:
    """`key` with one attribute changed (`category_id`, `assignee_id` or `priority`)."""
    category_id, assignee_id, priority = key
    if column == "category_id":
        return (value, assignee_id, priority)
    if column == "assignee_id":
        return (category_id, value, priority)
    return (category_id, assignee_id, str(value))


def moved(conn: Connection, ticket_id: int, old: Key, new: Key) -> None:
    """Move a ticket's contributions from its old key to its new one (a category, assignee or priority change)."""
    if old == new:
        return
    found = contributions(conn, ticket_id)
    _upsert_rows(conn, _rows(old, negated(found)) + _rows(new, found))
    _drop_emptied(conn, old, {day for day, _, _ in found})


def _drop_emptied(conn: Connection, key: Key, days: set[int]) -> None:
    """Remove the counters a move left at zero: the live projection files a new ticket under the key its unit of
    work leaves it with (no move), so a rebuild, which moves, must end with the same rows."""
    category_id, assignee_id, priority = key
    d = report_days.c
    where = (d.category_id == _id(category_id), d.assignee_id == _id(assignee_id), d.priority == priority)
    conn.execute(delete(report_days).where(*where, d.day.in_(days), *(d[m] == 0 for m in MEASURES)))


def negated(tallies: Sequence[Tally]) -> list[Tally]:
    return [(day, measure, -n) for day, measure, n in tallies]
