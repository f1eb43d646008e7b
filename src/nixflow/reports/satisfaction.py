"""CSAT figures: good and bad answers, and the score, per agent, category, organization or week of the answer.

Read from `csat_answers`, whose agent, category and organization are the ticket's when it was first answered, and
whose week is that of the first answer (a changed answer keeps its week). Period: `since <= answered_at < until`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Connection, select

from nixflow.domain.csat import score
from nixflow.reports.groups import labels, ordered, period_key
from nixflow.store.tables import csat_answers

CsatDimension = Literal["agent", "category", "organization", "week"]
_COLUMN = {"agent": "assignee_id", "category": "category_id", "organization": "organization_id"}


def answers(conn: Connection, *, since: datetime | None, until: datetime | None) -> list[dict[str, Any]]:
    """Every answer first given in the period (`until` None: up to now, included), oldest first."""
    query = select(csat_answers)
    if until is not None:
        query = query.where(csat_answers.c.answered_at < until)
    if since is not None:
        query = query.where(csat_answers.c.answered_at >= since)
    rows = conn.execute(query.order_by(csat_answers.c.answered_at, csat_answers.c.ticket_id))
    return [dict(r._mapping) for r in rows]


def key_of(answer: dict[str, Any], by: CsatDimension) -> Any:
    """The group an answer falls in."""
    return period_key(answer["answered_at"], by) if by == "week" else answer[_COLUMN[by]]


def results(
    conn: Connection, by: CsatDimension, *, since: datetime | None, until: datetime | None
) -> list[dict[str, Any]]:
    """One row per group: `{key, label, good, bad, answers, score}` (score: percent good)."""
    rows: dict[Any, dict[str, Any]] = {}
    for answer in answers(conn, since=since, until=until):
        key = key_of(answer, by)
        row = rows.setdefault(key, {"key": key, "good": 0, "bad": 0})
        row[answer["rating"]] += 1
    names = labels(conn, by, rows)
    for key, row in rows.items():
        row |= {"label": names.get(key, "none" if key is None else str(key)), "answers": row["good"] + row["bad"]}
        row["score"] = score(row["good"], row["bad"])
    return ordered(rows)
