"""The tickets behind a figure: its facts with each ticket's title and status, to open their events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from nixflow.reports.groups import labels
from nixflow.reports.metrics import Measure, Metric, Scope, facts
from nixflow.reports.satisfaction import CsatDimension, answers, key_of
from nixflow.store.tables import tickets


def drilldown(conn: Connection, metric: Metric, scope: Scope, minutes: Measure, *, limit: int) -> dict[str, Any]:
    """`{metric, total, items}`: the first `limit` facts of `metric` in `scope`, in time order."""
    found = facts(conn, metric, scope, minutes)
    shown = found[:limit]
    ids = sorted({f.ticket_id for f in shown})
    known = {
        r.id: r
        for r in conn.execute(
            select(tickets.c.id, tickets.c.title, tickets.c.status, tickets.c.priority, tickets.c.fields).where(
                tickets.c.id.in_(ids)
            )
        )
    }
    items = []
    for fact in shown:
        ticket = known.get(fact.ticket_id)
        items.append(
            {
                "ticket_id": fact.ticket_id,
                "title": ticket.title if ticket else None,
                "status": ticket.status if ticket else None,
                "priority": ticket.priority if ticket else None,
                "category_id": fact.category_id,
                "assignee_id": fact.assignee_id,
                "at": fact.at,
                "minutes": fact.minutes,
                "outcome": fact.outcome,
                "events_url": f"/api/tickets/{fact.ticket_id}/events",
                "fields": dict(ticket.fields or {}) if ticket else {},  # custom fields, as the ticket has them now
            }
        )
    return {"metric": metric, "total": len(found), "items": items}


def csat_comments(
    conn: Connection, by: CsatDimension, key: str | None, *, since: datetime | None, until: datetime | None, limit: int
) -> dict[str, Any]:
    """`{total, items}`: the answers behind one row of the CSAT report (`key` as the row shows it, `none` for
    none), newest first, each with its comment and its ticket's title."""
    found = [a for a in answers(conn, since=since, until=until) if _shown_key(key_of(a, by)) == key][::-1]
    shown = sorted({a["ticket_id"] for a in found[:limit]})
    titles = {r.id: r.title for r in conn.execute(select(tickets.c.id, tickets.c.title).where(tickets.c.id.in_(shown)))}
    items = [
        {
            **{k: a[k] for k in ("ticket_id", "rating", "comment", "answered_at", "changed_at", "assignee_id")},
            "category_id": a["category_id"],
            "organization_id": a["organization_id"],
            "title": titles.get(a["ticket_id"]),
            "events_url": f"/api/tickets/{a['ticket_id']}/events",
        }
        for a in found[:limit]
    ]
    named = labels(conn, by, [int(key)] if key is not None and key.isdigit() else [])
    label = named.get(int(key), key) if key is not None and key.isdigit() else key
    return {"by": by, "key": key, "label": label, "total": len(found), "items": items}


def _shown_key(key: Any) -> str:
    return "none" if key is None else str(key)
