"""The metrics of docs/metrics.md, computed from the report read models.

Every metric is a list of facts (one per ticket, or per reopen), each at the instant that puts it in a
period; figures, series, workload and drill-downs are all folds of those facts, so they cannot disagree.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Literal, get_args

from sqlalchemy import Connection, Select, func, or_, select

from nixflow.domain.calendars import ALWAYS, BusinessClock
from nixflow.services import calendars
from nixflow.store import organizations, ticket_tags
from nixflow.store.tables import report_sla, report_spells, report_tickets, sla_policies

Metric = Literal[
    "tickets_created",
    "tickets_solved",
    "first_reply",
    "resolution",
    "reopens",
    "sla_first_response",
    "sla_resolution",
    "backlog",
]
METRICS: tuple[Metric, ...] = get_args(Metric)
DURATIONS = ("first_reply", "resolution")
Interval = Literal["day", "week"]

# Minutes from one instant to a later one, for one ticket (its `report_tickets` row: priority, category).
Measure = Callable[[datetime, datetime, Any], float]


def calendar_minutes(start: datetime, stop: datetime, ticket: Any = None) -> float:
    """Calendar minutes between two instants, to two decimals."""
    return round((stop - start).total_seconds() / 60, 2)


class BusinessMinutes:
    """Whole business minutes in each ticket's calendar: its current priority's SLA policy calendar, else its
    category's, else 24/7 (as its SLA counts). Bound to a connection when the facts are read."""

    def __init__(self, conn: Connection | None = None) -> None:
        self.conn = conn
        self._hours: dict[tuple[str, int | None], BusinessClock] = {}

    def bind(self, conn: Connection) -> BusinessMinutes:
        return BusinessMinutes(conn)

    def __call__(self, start: datetime, stop: datetime, ticket: Any = None) -> float:
        key = (ticket.priority, ticket.category_id) if ticket is not None else ("", None)
        if key not in self._hours:
            self._hours[key] = self._find(*key)
        return float(self._hours[key].elapsed(start, stop).total_seconds() // 60)

    def _find(self, priority: str, category_id: int | None) -> BusinessClock:
        if self.conn is None:
            return ALWAYS
        policy = self.conn.execute(select(sla_policies.c.calendar_id).where(sla_policies.c.priority == priority))
        calendar_id = calendars.calendar_id_for(self.conn, policy.scalar(), category_id)
        found = calendars.compile_calendar(self.conn, calendar_id) if calendar_id is not None else None
        return found if found is not None else ALWAYS


def measure(*, business_hours: bool) -> Measure:
    """How durations are measured: calendar time, or business time in each ticket's calendar."""
    return BusinessMinutes() if business_hours else calendar_minutes


@dataclass(frozen=True)
class Scope:
    """Which tickets and which period: `since <= t < until`, filtered by current category/assignee/priority/tag
    and by organization."""

    until: datetime
    since: datetime | None = None
    category_id: int | None = None
    agent_id: int | None = None
    priority: str | None = None
    tag: str | None = None  # normalised (domain/tags.py): the tickets that have it now
    organization_id: int | None = None  # the tickets opened under it

    def tickets(self) -> list[Any]:
        """The filters, as conditions on `report_tickets`."""
        t = report_tickets.c
        conditions: list[Any] = []
        if self.category_id is not None:
            conditions.append(t.category_id == self.category_id)
        if self.agent_id is not None:
            conditions.append(t.assignee_id == self.agent_id)
        if self.priority is not None:
            conditions.append(t.priority == self.priority)
        if self.tag is not None:
            conditions.append(t.ticket_id.in_(ticket_tags.tickets_tagged(self.tag)))
        if self.organization_id is not None:
            conditions.append(t.ticket_id.in_(organizations.tickets_of(self.organization_id)))
        return conditions

    def period(self, column: Any) -> list[Any]:
        """`column` inside the period."""
        return [column < self.until] + ([column >= self.since] if self.since is not None else [])


@dataclass(frozen=True)
class Fact:
    """One ticket's contribution to a metric, at the instant that places it in a period."""

    ticket_id: int
    at: datetime
    category_id: int | None
    assignee_id: int | None
    minutes: float | None = None
    outcome: str | None = None


_T = report_tickets.c
_KEYS = (_T.ticket_id, _T.category_id, _T.assignee_id)


def _query(scope: Scope, *columns: Any) -> Select[Any]:
    return select(*_KEYS, *columns).where(*scope.tickets())


def facts(conn: Connection, metric: Metric, scope: Scope, minutes: Measure) -> list[Fact]:
    """The facts of `metric` in `scope`, ordered by time then ticket."""
    if metric == "backlog":
        return backlog(conn, scope, scope.until)
    if isinstance(minutes, BusinessMinutes):
        minutes = minutes.bind(conn)
    rows: Iterable[Any]
    if metric == "tickets_created":
        rows = conn.execute(_query(scope, _T.created_at.label("at")).where(*scope.period(_T.created_at)))
    elif metric in ("tickets_solved", "reopens"):
        s = report_spells.c
        at = s.solved_at if metric == "tickets_solved" else s.opened_at
        query = _query(scope, at.label("at")).join_from(report_tickets, report_spells, s.ticket_id == _T.ticket_id)
        rows = conn.execute(query.where(*scope.period(at), *([s.spell > 0] if metric == "reopens" else [])))
    elif metric in DURATIONS:
        stop = _T.first_reply_at if metric == "first_reply" else _T.resolved_at
        query = _query(scope, stop.label("at"), _T.created_at, _T.priority).where(*scope.period(stop))
        return _sorted(
            Fact(r.ticket_id, r.at, r.category_id, r.assignee_id, minutes=minutes(r.created_at, r.at, r))
            for r in conn.execute(query)
        )
    else:
        g = report_sla.c
        target = "first_response" if metric == "sla_first_response" else "resolution"
        query = _query(scope, g.at, g.outcome).join_from(report_tickets, report_sla, g.ticket_id == _T.ticket_id)
        rows = conn.execute(query.where(g.target == target, *scope.period(g.at)))
        return _sorted(Fact(r.ticket_id, r.at, r.category_id, r.assignee_id, outcome=r.outcome) for r in rows)
    return _sorted(Fact(r.ticket_id, r.at, r.category_id, r.assignee_id) for r in rows)


def backlog(conn: Connection, scope: Scope, at: datetime) -> list[Fact]:
    """Tickets in the backlog just before `at` (the period's `since` does not apply); each at its opening."""
    s = report_spells.c
    query = _query(scope, s.opened_at.label("at")).join_from(report_tickets, report_spells, s.ticket_id == _T.ticket_id)
    rows = conn.execute(query.where(s.opened_at < at, or_(s.solved_at.is_(None), s.solved_at >= at)))
    return _sorted(Fact(r.ticket_id, r.at, r.category_id, r.assignee_id) for r in rows)


def _sorted(found: Iterable[Fact]) -> list[Fact]:
    return sorted(found, key=lambda f: (f.at, f.ticket_id))


def spells_overlapping(conn: Connection, scope: Scope, start: datetime) -> list[tuple[datetime, datetime | None]]:
    """(opened, solved) of the backlog spells open at some instant in [start, until), for backlog series."""
    s = report_spells.c
    query = (
        select(s.opened_at, s.solved_at)
        .join_from(report_spells, report_tickets, s.ticket_id == _T.ticket_id)
        .where(*scope.tickets(), s.opened_at < scope.until, or_(s.solved_at.is_(None), s.solved_at >= start))
    )
    return [(r.opened_at, r.solved_at) for r in conn.execute(query)]


# -- folds ---------------------------------------------------------------------------------------------


def durations(found: Sequence[Fact]) -> dict[str, Any]:
    """`{median_minutes, p90_minutes, count}` of duration facts."""
    values = sorted(f.minutes for f in found if f.minutes is not None)
    if not values:
        return {"median_minutes": None, "p90_minutes": None, "count": 0}
    p90 = values[math.ceil(0.9 * len(values)) - 1]
    return {"median_minutes": round(statistics.median(values), 2), "p90_minutes": p90, "count": len(values)}


def compliance(found: Sequence[Fact]) -> float | None:
    """met / (met + breached); None when there is no outcome."""
    if not found:
        return None
    return sum(f.outcome == "met" for f in found) / len(found)


def value(metric: Metric, found: Sequence[Fact]) -> tuple[float | int | None, int]:
    """The figure of `metric` over `found` and how many facts it stands on (distinct tickets for solved)."""
    if metric in DURATIONS:
        folded = durations(found)
        return folded["median_minutes"], folded["count"]
    if metric in ("sla_first_response", "sla_resolution"):
        return compliance(found), len(found)
    count = len({f.ticket_id for f in found}) if metric in ("tickets_solved", "backlog") else len(found)
    return count, count


def summary(conn: Connection, scope: Scope, minutes: Measure) -> dict[str, Any]:
    """The figures of `GET /api/reports/summary`."""

    def of(metric: Metric) -> list[Fact]:
        return facts(conn, metric, scope, minutes)

    return {
        "tickets_created": value("tickets_created", of("tickets_created"))[1],
        "tickets_solved": value("tickets_solved", of("tickets_solved"))[1],
        "first_reply": durations(of("first_reply")),
        "resolution": durations(of("resolution")),
        "sla_compliance": {
            "first_response": compliance(of("sla_first_response")),
            "resolution": compliance(of("sla_resolution")),
        },
        "backlog_at_end": value("backlog", of("backlog"))[1],
    }


def bucket_start(at: datetime, interval: Interval) -> datetime:
    """The start (UTC midnight; Monday for weeks) of the interval containing `at`."""
    day = at.replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=day.weekday()) if interval == "week" else day


def series(
    conn: Connection, metric: Metric, scope: Scope, minutes: Measure, interval: Interval, *, now: datetime
) -> list[dict[str, Any]]:
    """Points `{start, end, value, count}`, one per day or week of the period (default: the 30 days before
    `until`), from the interval of the first ticket on and up to now: no other point can hold data. The last
    point ends at `until` (or now, if sooner)."""
    first_ticket = conn.execute(select(func.min(_T.created_at))).scalar()
    since = scope.since if scope.since is not None else _days_before(scope.until, 30)
    if first_ticket is None or max(since, first_ticket) >= min(scope.until, now):
        return []
    scope = replace(scope, until=min(scope.until, now), since=since)
    width = timedelta(days=7 if interval == "week" else 1)
    first = bucket_start(max(since, first_ticket), interval)
    starts = [first + width * i for i in range(math.ceil((scope.until - first) / width))]
    if metric == "backlog":
        spells = spells_overlapping(conn, scope, first)
        points = []
        for start in starts:
            end = min(start + width, scope.until)
            n = sum(1 for opened, solved in spells if opened < end and (solved is None or solved >= end))
            points.append({"start": start, "end": end, "value": n, "count": n})
        return points
    by_bucket: dict[datetime, list[Fact]] = {start: [] for start in starts}
    for fact in facts(conn, metric, scope, minutes):
        by_bucket[bucket_start(fact.at, interval)].append(fact)
    return [
        dict(
            zip(("value", "count"), value(metric, found), strict=True), start=start, end=min(start + width, scope.until)
        )
        for start, found in by_bucket.items()
    ]


def _days_before(at: datetime, days: int) -> datetime:
    try:
        return at - timedelta(days=days)
    except OverflowError:
        return datetime.min.replace(tzinfo=at.tzinfo)


def workload(conn: Connection, scope: Scope, by: Literal["agent", "category"]) -> list[dict[str, Any]]:
    """Per current assignee (or category): tickets created and solved in the period, backlog at its end."""

    def key(fact: Fact) -> int | None:
        return fact.assignee_id if by == "agent" else fact.category_id

    created = facts(conn, "tickets_created", scope, calendar_minutes)
    solved = facts(conn, "tickets_solved", scope, calendar_minutes)
    open_at_end = backlog(conn, scope, scope.until)
    keys = sorted({key(f) for f in [*created, *solved, *open_at_end]}, key=lambda k: (k is None, k or 0))
    return [
        {
            "key": k,
            "tickets_created": sum(key(f) == k for f in created),
            "tickets_solved": len({f.ticket_id for f in solved if key(f) == k}),
            "backlog_at_end": sum(key(f) == k for f in open_at_end),
        }
        for k in keys
    ]
