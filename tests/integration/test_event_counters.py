"""Event statistics from the hourly counters (migration 0030): the same answer as scanning the log, after every
way an event is written, moved or deleted, for ranges with and without partial edge hours."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, select, update
from tests.conftest import Harness, User

from nixflow.store import event_log, event_stats
from nixflow.store.db import Tx
from nixflow.store.tables import event_counts, events

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _counters(conn: Connection) -> Counter[tuple[int, str, str, str]]:
    c = event_counts.c
    rows = conn.execute(select(c.hour, c.event_type, c.status, c.priority, func.sum(c.n)).group_by(*c[:4]))
    return Counter({(h, t, s, p): int(n) for h, t, s, p, n in rows if n})


def _log(conn: Connection) -> Counter[tuple[int, str, str, str]]:
    e = events.c
    return Counter(
        (event_stats.hour_of(r.timestamp), r.event_type, r.status, r.priority)
        for r in conn.execute(select(e.timestamp, e.event_type, e.status, e.priority))
    )


async def _move_into_history(harness: Harness) -> None:
    """Spread the log over past hours, minutes apart: every edge case of a range has events."""

    def move(tx: Tx) -> None:
        ids = [r[0] for r in tx.conn.execute(select(events.c.event_id).order_by(events.c.seq))]
        for i, event_id in enumerate(ids):
            at = T0 + timedelta(minutes=17 * i)
            tx.conn.execute(update(events).where(events.c.event_id == event_id).values(timestamp=at))

    await harness.write(move)


async def test_counters_follow_the_log_through_writes_replays_and_cleanup(
    harness: Harness, admin: User, requester: User
) -> None:
    for title in ("Core switch is down", "urgent: printer", "a question"):
        await harness.client.post("/api/tickets", json={"title": title}, headers=requester.headers)
    await harness.settle()
    await _move_into_history(harness)
    replayed = (await harness.events(type="ticket.created"))[0]["event_id"]
    assert (await harness.client.post(f"/api/events/{replayed}/replay", headers=admin.headers)).status_code == 202
    await harness.settle()
    deleted = await harness.write(lambda tx: event_log.cleanup(tx.conn, older_than=T0 + timedelta(minutes=40)))
    assert deleted == 3  # the three events at 09:00, 09:17 and 09:34
    counters, log = await harness.nixflow.db.read(lambda conn: (_counters(conn), _log(conn)))
    assert counters == log and sum(log.values()) >= 5


async def test_stats_of_any_range_equal_the_scan_of_the_log(harness: Harness, admin: User, requester: User) -> None:
    for i in range(4):
        await harness.client.post("/api/tickets", json={"title": f"t{i}"}, headers=requester.headers)
    await harness.settle()
    await _move_into_history(harness)
    hour = timedelta(hours=1)
    ranges: list[tuple[datetime | None, datetime | None]] = [
        (None, None),
        (T0 + timedelta(minutes=30), None),  # a partial first hour
        (None, T0 + 2 * hour + timedelta(minutes=5)),  # a partial last hour
        (T0 + timedelta(minutes=10), T0 + 3 * hour + timedelta(minutes=50)),  # both edges partial
        (T0 + hour, T0 + 3 * hour),  # whole hours only
        (T0 + timedelta(minutes=5), T0 + timedelta(minutes=55)),  # inside one hour
        (T0 + timedelta(minutes=50), T0 + hour + timedelta(minutes=40)),  # across one boundary, no whole hour
    ]

    def both(conn: Connection) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        return [(event_stats.stats(conn, since=s, until=u), _scan(conn, s, u)) for s, u in ranges]

    for (since, until), (counted, scanned) in zip(ranges, await harness.nixflow.db.read(both), strict=True):
        assert counted == scanned, (since, until)
    since, until = T0 + timedelta(minutes=10), T0 + 3 * hour
    params = {"since": since.isoformat(), "until": until.isoformat()}
    answer = (await harness.client.get("/api/events/stats", params=params, headers=admin.headers)).json()
    expected = await harness.nixflow.db.read(lambda conn: _scan(conn, since, until))
    assert answer == expected and answer["total"] == 7  # 8 events, 09:00 ... 10:59: all but the first


def _scan(conn: Connection, since: datetime | None, until: datetime | None) -> dict[str, Any]:
    """What the route answered before the counters: GROUP BY over the log."""
    e = events.c
    where = [e.timestamp >= since] if since else []
    where += [e.timestamp < until] if until else []
    out: dict[str, Any] = {"total": conn.execute(select(func.count()).select_from(events).where(*where)).scalar_one()}
    for key, column in (("by_type", e.event_type), ("by_status", e.status), ("by_priority", e.priority)):
        rows = conn.execute(select(column, func.count()).where(*where).group_by(column).order_by(column))
        out[key] = {str(k): int(v) for k, v in rows}
    return out
