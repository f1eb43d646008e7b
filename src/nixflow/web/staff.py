"""Pages for agents and admins: the live queue, the event log explorer, one event's causation, statistics."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import Connection

from nixflow import i18n
from nixflow.api.deps import App
from nixflow.domain import tags
from nixflow.domain.errors import NotFound
from nixflow.domain.fields import Entity
from nixflow.domain.macros import Kind
from nixflow.domain.tickets import OPEN_STATUSES, Status
from nixflow.domain.values import EVENT_CATEGORIES, EventStatus, Priority
from nixflow.services import (
    field_definitions,
    macros,
    saved_views,
    ticket_order,
    ticket_queries,
    ticket_reads,
    ticket_tags,
    tickets,
    visibility,
)
from nixflow.services.users import require_admin
from nixflow.store import event_log
from nixflow.store import event_stats as log_stats
from nixflow.web import charts, lookups, queue_views
from nixflow.web.rendering import PAGE_SIZE, PageRoute, PageUser, pages, render, require_staff, translator_of

router = APIRouter(include_in_schema=False, route_class=PageRoute)

QueueStatus = Literal["", "all", "new", "open", "pending", "resolved", "closed"]
PriorityName = Literal["", "low", "normal", "high", "critical"]
EventStatusName = Literal["", "pending", "processing", "completed", "failed", "retrying"]
Range = Literal["1h", "24h", "7d"]


def _int_or_none(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


@router.get("/queue", response_class=HTMLResponse)
async def queue(
    request: Request,
    user: PageUser,
    app: App,
    status: QueueStatus = "",
    priority: PriorityName = "",
    category_id: Annotated[str | None, Query(max_length=20)] = None,
    assignee_id: Annotated[str | None, Query(max_length=20)] = None,
    q: Annotated[str, Query(max_length=200)] = "",
    tag: Annotated[str, Query(max_length=60)] = "",
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
    sort: ticket_order.SortName = "-id",
    columns: Annotated[str, Query(max_length=2000, description="Custom field columns: field:<key>,...")] = "",
) -> Response:
    """The live queue: open tickets by default, filtered by status, priority, category, assignee and text, in the
    order of the column chosen, with the custom field columns asked for; tickets changed since the user last looked
    are marked."""
    require_staff(user)
    tr = translator_of(request)
    order = ticket_order.Order.parse(sort)
    flt = ticket_queries.TicketFilter(
        status=Status(status) if status not in ("", "all") else None,
        statuses=frozenset(OPEN_STATUSES) if status == "" else None,
        priority=Priority(priority) if priority else None,
        category_id=_int_or_none(category_id),
        assignee_id=_int_or_none(assignee_id),
        unassigned=assignee_id == "none",
        q=q.strip() or None,
        tag=tags.normalise(tag) if tag.strip() else None,
    )

    def read(conn: Connection) -> dict[str, Any]:
        items, next_cursor = ticket_queries.list_tickets(
            conn, viewer=user, flt=flt, limit=PAGE_SIZE, cursor=cursor, order=order
        )
        people = {t["assignee_id"] for t in items} | {t["requester_id"] for t in items}
        return {
            "items": [tickets.public_to(user, t) for t in items],
            "unread": ticket_reads.unread(conn, viewer=user, ticket_ids=[t["id"] for t in items]),
            "next_cursor": next_cursor,
            "names": lookups.user_names(conn, people),
            "categories": lookups.category_names(conn),
            "agents": lookups.assignable(conn),
            "known_tags": [t["tag"] for t in ticket_tags.known(conn)],
            "views": queue_views.linked(saved_views.counted(conn, viewer=user)),
            "macros": macros.listing(conn, viewer=user, kind=Kind.MACRO),
            "matching": ticket_queries.count(conn, viewer=user, flt=flt),
            "field_columns": queue_views.field_columns(columns, field_definitions.active(conn, Entity.TICKET)),
        }

    data = await app.db.read(read)
    filters = {
        "status": status,
        "priority": priority,
        "category_id": category_id or "",
        "assignee_id": assignee_id or "",
        "q": q,
        "tag": flt.tag or "",
        "columns": columns,
    }
    return await render(
        request,
        "queue.html",
        user,
        title=tr.gettext("Queue"),
        filters=filters,
        pages=pages(request, data.pop("next_cursor")),
        columns=sort_links(request, order),
        sort=order.name,
        sort_labels=SORT_LABELS,
        statuses=[s.value for s in Status],
        priorities=[p.value for p in Priority],
        cell=partial(queue_views.cell, tr=tr),
        **data,
    )


# Sortable columns: the key and the direction a first click sorts in (latest and most urgent first).
SORTABLE = {"id": "-", "title": "", "status": "", "priority": "", "assignee": "", "updated_at": "-", "due": ""}


# The same orders in words, for the "Order" choice of the filters (on a phone the table has no header row); the
# page translates them.
SORT_LABELS = {
    "-id": i18n.N_("newest first"),
    "id": i18n.N_("oldest first"),
    "-updated_at": i18n.N_("recently updated"),
    "updated_at": i18n.N_("least recently updated"),
    "due": i18n.N_("due soonest"),
    "-due": i18n.N_("due latest"),
    "priority": i18n.N_("most urgent"),
    "-priority": i18n.N_("least urgent"),
    "status": i18n.N_("status, new to closed"),
    "-status": i18n.N_("status, closed to new"),
    "title": i18n.N_("title, A to Z"),
    "-title": i18n.N_("title, Z to A"),
    "assignee": i18n.N_("assignee, A to Z"),
    "-assignee": i18n.N_("assignee, Z to A"),
}


def sort_links(request: Request, order: ticket_order.Order) -> dict[str, dict[str, str]]:
    """Per sortable column: the link that sorts by it (a second click reverses) and its `aria-sort`."""
    columns: dict[str, dict[str, str]] = {}
    for key, first in SORTABLE.items():
        current = order.key == key
        then = ("" if order.descending else "-") if current else first
        url = request.url.remove_query_params("cursor").include_query_params(sort=then + key)
        aria = ("descending" if order.descending else "ascending") if current else "none"
        columns[key] = {"href": f"{url.path}?{url.query}", "aria": aria}
    return columns


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@router.get("/events", response_class=HTMLResponse)
async def events_explorer(
    request: Request,
    user: PageUser,
    app: App,
    type: Annotated[str, Query(max_length=64)] = "",
    category: Annotated[str, Query(max_length=16)] = "",
    status: EventStatusName = "",
    priority: PriorityName = "",
    aggregate_id: Annotated[str, Query(max_length=64)] = "",
    correlation_id: Annotated[str, Query(max_length=36)] = "",
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=100)] = None,
) -> Response:
    """The event log, newest first, with the filters of `GET /api/events`."""
    require_admin(user)
    flt = event_log.EventFilter(
        type=type or None,
        category=category or None,
        status=EventStatus(status) if status else None,
        priority=Priority(priority) if priority else None,
        aggregate_id=aggregate_id or None,
        correlation_id=correlation_id or None,
        since=_utc(since),
        until=_utc(until),
    )
    records, next_cursor = await app.db.read(lambda conn: event_log.find_many(conn, flt, limit=limit, cursor=cursor))
    filters = {
        "type": type, "category": category, "status": status, "priority": priority, "aggregate_id": aggregate_id,
        "correlation_id": correlation_id, "since": request.query_params.get("since", ""),
        "until": request.query_params.get("until", ""), "limit": limit,
    }  # fmt: skip
    return await render(
        request,
        "events.html",
        user,
        title=translator_of(request).gettext("Event log"),
        records=records,
        pages=pages(request, next_cursor),
        filters=filters,
        categories=EVENT_CATEGORIES,
        statuses=[s.value for s in EventStatus],
        priorities=[p.value for p in Priority],
    )


@router.get("/events/stats", response_class=HTMLResponse)
async def event_stats(request: Request, user: PageUser, app: App, range: Range = "24h") -> Response:
    """Counts of the event log, and charts of events over time by category and by status."""
    require_admin(user)
    since = app.clock() - charts.SPANS[range][0]
    totals = await app.db.read(lambda conn: log_stats.stats(conn, since=since))
    tr = i18n.translator(request.state.locale)
    spans = {name: tr.gettext(label) for name, label in charts.SPAN_LABELS.items()}
    title = tr.gettext("Event statistics")
    return await render(request, "stats.html", user, title=title, totals=totals, range=range, spans=spans)


@router.get("/events/stats/{by}.svg")
async def event_chart(
    request: Request, user: PageUser, app: App, by: Literal["category", "status"], range: Range = "24h"
) -> Response:
    """An SVG chart (drawn by pygal) of events over time, stacked by category or status, in the reader's language."""
    require_admin(user)
    now, locale = app.clock(), request.state.locale
    counts = await app.db.read(lambda conn: charts.bucket_counts(conn, by=by, span=range, now=now, locale=locale))
    tr = i18n.translator(locale)
    titles = {
        "category": tr.gettext("Events by category, %(span)s"),
        "status": tr.gettext("Events by status, %(span)s"),
    }
    svg = charts.render(
        counts,
        title=titles[by] % {"span": tr.gettext(charts.SPAN_LABELS[range])},
        empty=tr.gettext("No events in this period"),
        locale=locale,
    )
    return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "no-store"})


@router.get("/events/{event_id}", response_class=HTMLResponse)
async def event_page(request: Request, event_id: str, user: PageUser, app: App) -> Response:
    """One event, the chain of events that caused it, and everything its request set off."""
    require_staff(user)

    def read(conn: Connection) -> dict[str, Any]:
        record = event_log.find(conn, event_id[:64])
        if record is None or not visibility.may_see(user, record, None):
            raise NotFound(f"event {event_id} not found")
        flt = event_log.EventFilter(correlation_id=record.correlation_id)
        family, _ = event_log.find_many(conn, flt, limit=500)
        family = [r for r in reversed(family) if visibility.may_see(user, r, None)]
        if record.event_id not in {r.event_id for r in family}:
            family.append(record)
        return {
            "record": record,
            "chain": lookups.chain_to_root(family, record.event_id),
            "forest": lookups.causation_forest(family),
            "rules": lookups.rule_names(conn),
            "names": lookups.user_names(conn, lookups.people_of(family)),
        }

    data = await app.db.read(read)
    return await render(request, "event.html", user, title=data["record"].type, rule_of=lookups.caused_by_rule, **data)
