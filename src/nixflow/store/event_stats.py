"""Event statistics (`GET /api/events/stats`, `nixflow events stats`) from the hourly counters.

`event_counts` (migration 0030) holds, per hour since the epoch, how many events of each type, status and
priority the log has; triggers keep it in the transaction that writes, moves or deletes an event. A range
`since <= timestamp < until` is its whole hours read from the counters plus an exact count of only the partial
hours at its edges, so the answer is exactly what scanning the log would give, at the cost of at most two hours
of events.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, select

from nixflow.store.tables import event_counts, events

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_HOUR = timedelta(hours=1)
Key = tuple[str, str, str]  # type, status, priority


def hour_of(at: datetime) -> int:
    """The counters' hour bucket of an instant: whole hours since the epoch (floored)."""
    return (at - _EPOCH) // _HOUR


def _start_of(hour: int) -> datetime:
    return _EPOCH + hour * _HOUR


def stats(conn: Connection, *, since: datetime | None = None, until: datetime | None = None) -> dict[str, Any]:
    """Counts of the events with `since <= timestamp < until`: total, by type, by status, by priority."""
    first = None if since is None else -(-(since - _EPOCH) // _HOUR)  # the first whole hour (ceiling)
    stop = None if until is None else hour_of(until)
    if first is not None and stop is not None and first >= stop:  # no whole hour inside: at most two hours
        return _folded(scanned(conn, since=since, until=until))
    found = _counted(conn, first, stop)
    if since is not None and first is not None and _start_of(first) > since:
        found.update(scanned(conn, since=since, until=_start_of(first)))
    if until is not None and stop is not None and _start_of(stop) < until:
        found.update(scanned(conn, since=_start_of(stop), until=until))
    return _folded(found)


def _counted(conn: Connection, first: int | None, stop: int | None) -> Counter[Key]:
    c = event_counts.c
    query = select(c.event_type, c.status, c.priority, func.sum(c.n)).group_by(c.event_type, c.status, c.priority)
    if first is not None:
        query = query.where(c.hour >= first)
    if stop is not None:
        query = query.where(c.hour < stop)
    return Counter({(t, s, p): int(n) for t, s, p, n in conn.execute(query)})


def scanned(conn: Connection, *, since: datetime | None = None, until: datetime | None = None) -> Counter[Key]:
    """The same counts read from the log itself (the timestamp index): the edges of a range, and the check."""
    e = events.c
    query = select(e.event_type, e.status, e.priority, func.count()).group_by(e.event_type, e.status, e.priority)
    if since is not None:
        query = query.where(e.timestamp >= since)
    if until is not None:
        query = query.where(e.timestamp < until)
    return Counter({(t, s, p): int(n) for t, s, p, n in conn.execute(query)})


def _folded(found: Counter[Key]) -> dict[str, Any]:
    out: dict[str, Any] = {"total": sum(n for n in found.values() if n > 0)}
    for name, position in (("by_type", 0), ("by_status", 1), ("by_priority", 2)):
        by: Counter[str] = Counter()
        for key, n in found.items():
            by[key[position]] += n
        out[name] = {k: by[k] for k in sorted(by) if by[k] > 0}
    return out
