"""A period's headline figures (`GET /api/reports/summary`, the reports page) from the per-day counters.

Counts are `report_days` summed over the period's whole UTC days plus an exact count of its partial edge days
from the report tables (their time indexes), so they equal the folds of `metrics` exactly; "tickets solved"
(distinct) subtracts the resolves after a reopen that repeat a ticket in the period (a small partial index);
the backlog at the end is spells opened minus spells solved before it. Durations are kept in microseconds by
the projection, median and p90 picked by `ORDER BY ... OFFSET` among the period's tickets. A tag or
organization filter, or business hours, keeps the fact-by-fact path (`metrics.summary`).
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, func, select, text
from sqlalchemy.orm import aliased

from nixflow.reports import metrics
from nixflow.reports.daily import MEASURES, day_of, start_of
from nixflow.store.tables import report_days, report_sla, report_spells, report_tickets

_T, _S, _G, _D = report_tickets.c, report_spells.c, report_sla.c, report_days.c


def summary(conn: Connection, scope: metrics.Scope, minutes: metrics.Measure) -> dict[str, Any]:
    """The figures of `metrics.summary`, read from the counters wherever the scope allows."""
    if scope.tag is not None or scope.organization_id is not None or minutes is not metrics.calendar_minutes:
        return metrics.summary(conn, scope, minutes)
    period = counts(conn, scope, scope.since, scope.until)
    history = counts(conn, scope, None, scope.until)
    return {
        "tickets_created": period["created"],
        "tickets_solved": period["solved"] - _solved_again(conn, scope),
        "first_reply": _durations(conn, scope, _T.first_reply_at, _T.first_reply_us),
        "resolution": _durations(conn, scope, _T.resolved_at, _T.resolution_us),
        "sla_compliance": {
            target: _ratio(period[f"{target}_met"], period[f"{target}_breached"])
            for target in ("first_response", "resolution")
        },
        "backlog_at_end": history["opened"] - history["solved"],
    }


def counts(conn: Connection, scope: metrics.Scope, since: datetime | None, until: datetime) -> Counter[str]:
    """Each measure of `report_days` over `since <= t < until` in the scope (category, agent, priority)."""
    first = None if since is None else day_of(since) + (start_of(day_of(since)) < since)
    stop = day_of(until)
    if first is not None and first >= stop:  # no whole day inside
        return _exact(conn, scope, since, until)
    query = select(*(func.coalesce(func.sum(_D[m]), 0) for m in MEASURES)).where(_D.day < stop, *_keys(scope))
    if first is not None:
        query = query.where(_D.day >= first)
    found = Counter(dict(zip(MEASURES, (int(n) for n in conn.execute(query).one()), strict=True)))
    if since is not None and first is not None and start_of(first) > since:
        found.update(_exact(conn, scope, since, start_of(first)))
    if start_of(stop) < until:
        found.update(_exact(conn, scope, start_of(stop), until))
    return found


def _keys(scope: metrics.Scope) -> list[ColumnElement[bool]]:
    keys = [] if scope.category_id is None else [_D.category_id == scope.category_id]
    keys += [] if scope.agent_id is None else [_D.assignee_id == scope.agent_id]
    return keys + ([] if scope.priority is None else [_D.priority == scope.priority])


def _exact(conn: Connection, scope: metrics.Scope, since: datetime | None, until: datetime) -> Counter[str]:
    """The measures the summary needs over a partial day, counted in the report tables."""

    def within(column: Any) -> list[Any]:
        return [column < until, *([] if since is None else [column >= since])]

    spells = report_tickets.join(report_spells, _S.ticket_id == _T.ticket_id)
    count = func.count()
    found: Counter[str] = Counter()
    found["created"] = conn.execute(select(count).where(*scope.tickets(), *within(_T.created_at))).scalar_one()
    for measure, column in (("opened", _S.opened_at), ("solved", _S.solved_at)):
        query = select(count).select_from(spells).where(*scope.tickets(), *within(column))
        found[measure] = conn.execute(query).scalar_one()
    sla = report_tickets.join(report_sla, _G.ticket_id == _T.ticket_id)
    outcomes = select(_G.target, _G.outcome, count).select_from(sla).where(*scope.tickets(), *within(_G.at))
    for target, outcome, n in conn.execute(outcomes.group_by(_G.target, _G.outcome)):
        found[f"{target}_{outcome}"] = int(n)
    return found


def _solved_again(conn: Connection, scope: metrics.Scope) -> int:
    """Resolves in the period of tickets already resolved earlier in it (a reopen's spell, and the spell before
    it solved in the period too): what tells resolves from distinct tickets solved."""
    before = aliased(report_spells)
    query = (
        select(func.count())
        .select_from(report_spells)
        .join(report_tickets, _T.ticket_id == _S.ticket_id)
        .join(before, and_(before.c.ticket_id == _S.ticket_id, before.c.spell == _S.spell - 1))
        .where(text("report_spells.spell > 0"), *scope.tickets(), *scope.period(_S.solved_at))
    )
    if scope.since is not None:
        query = query.where(before.c.solved_at >= scope.since)
    return int(conn.execute(query).scalar_one())


def _durations(conn: Connection, scope: metrics.Scope, stop: Any, micros: Any) -> dict[str, Any]:
    """`metrics.durations` of a duration column (`micros`, microseconds) over the tickets whose `stop` is in the
    period."""
    within = [*scope.tickets(), *scope.period(stop)]
    n = int(conn.execute(select(func.count()).select_from(report_tickets).where(*within)).scalar_one())
    if not n:
        return metrics.durations([])

    def at(offset: int, limit: int) -> list[float]:
        query = select(micros).where(*within).order_by(micros).offset(offset).limit(limit)
        return [round(int(us) / 1e6 / 60, 2) for us in conn.execute(query).scalars()]

    middle = at((n - 1) // 2, 2 - n % 2)
    p90 = at(math.ceil(0.9 * n) - 1, 1)[0]
    return {"median_minutes": round(statistics.median(middle), 2), "p90_minutes": p90, "count": n}


def _ratio(met: int, breached: int) -> float | None:
    return met / (met + breached) if met + breached else None
