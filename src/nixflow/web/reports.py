"""The reports page (agents and admins): the figures of a period, charts, drill-downs and CSV links."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import Connection

from nixflow import i18n
from nixflow.api.deps import App
from nixflow.domain.errors import ValidationFailed
from nixflow.domain.values import Priority
from nixflow.i18n import N_
from nixflow.reports import figures, metrics
from nixflow.reports.drilldown import drilldown
from nixflow.web import charts, lookups
from nixflow.web.rendering import PageRoute, PageUser, render, require_staff

router = APIRouter(include_in_schema=False, route_class=PageRoute)

DateText = Annotated[str, Query(max_length=10)]
IdText = Annotated[str, Query(max_length=20)]
PriorityName = Literal["", "low", "normal", "high", "critical"]
BusinessText = Literal["", "true", "false"]  # the "Business hours" toggle: durations in business minutes
Chart = Literal["created-solved", "backlog", "first-reply"]
CHARTS: dict[Chart, tuple[str, tuple[metrics.Metric, ...]]] = {
    "created-solved": (N_("Tickets created and solved"), ("tickets_created", "tickets_solved")),
    "backlog": (N_("Backlog at the end of each interval"), ("backlog",)),
    "first-reply": (N_("Median first reply time (minutes)"), ("first_reply",)),
}
FIGURES: tuple[tuple[metrics.Metric, str], ...] = (
    ("tickets_created", N_("Tickets created")),
    ("tickets_solved", N_("Tickets solved")),
    ("first_reply", N_("First reply time")),
    ("resolution", N_("Full resolution time")),
    ("reopens", N_("Reopens")),
    ("sla_first_response", N_("SLA compliance: first response")),
    ("sla_resolution", N_("SLA compliance: resolution")),
    ("backlog", N_("Backlog at the end")),
)
# the legend of a chart's series (its metric's name as people read it)
SERIES: dict[metrics.Metric, str] = {
    "tickets_created": N_("tickets created"),
    "tickets_solved": N_("tickets solved"),
    "backlog": N_("backlog"),
    "first_reply": N_("first reply"),
}


class Filters:
    """The page's filters as typed (dates, ids), and as the query strings of its links."""

    def __init__(
        self, *, today: date, since: str, until: str, category_id: str, agent_id: str, priority: str, business: str
    ) -> None:
        self.until_day = _day(until, "until") or today
        month = timedelta(days=min(29, (self.until_day - date.min).days))
        self.since_day = _day(since, "since") or self.until_day - month
        self.category_id, self.agent_id, self.priority = category_id, agent_id, priority
        self.business = business == "true"
        self.minutes = metrics.measure(business_hours=self.business)
        self.interval: metrics.Interval = "week" if (self.until_day - self.since_day).days > 92 else "day"

    def scope(self) -> metrics.Scope:
        since = datetime.combine(self.since_day, time(), UTC)
        end_day = self.until_day + timedelta(days=1) if self.until_day < date.max else None
        until = datetime.combine(end_day, time(), UTC) if end_day else datetime.max.replace(tzinfo=UTC)
        ids = [int(v) if v.isdigit() and len(v) < 16 else None for v in (self.category_id, self.agent_id)]
        return metrics.Scope(until, since, ids[0], ids[1], self.priority or None)

    def query(self, **extra: str) -> str:
        """The page's own query string (dates), plus `extra`."""
        return self._encode({"since": self.since_day.isoformat(), "until": self.until_day.isoformat()}, extra)

    def api_query(self, **extra: str) -> str:
        """The same filters for `/api/reports/*` (RFC 3339 times), plus `extra`."""
        scope = self.scope()
        assert scope.since is not None
        return self._encode({"since": scope.since.isoformat(), "until": scope.until.isoformat()}, extra)

    def _encode(self, period: dict[str, str], extra: dict[str, str]) -> str:
        picked = {"category_id": self.category_id, "agent_id": self.agent_id, "priority": self.priority}
        picked["business_hours"] = "true" if self.business else ""
        return urlencode({**period, **{k: v for k, v in picked.items() if v}, **extra})


def _day(value: str, name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed(f"{name}: not a date (YYYY-MM-DD)") from None


def _filters(
    app: App,
    since: DateText = "",
    until: DateText = "",
    category_id: IdText = "",
    agent_id: IdText = "",
    priority: PriorityName = "",
    business_hours: BusinessText = "",
) -> Filters:
    """The filters every report page and chart takes, from its query string."""
    return Filters(
        today=app.clock().date(),
        since=since,
        until=until,
        category_id=category_id,
        agent_id=agent_id,
        priority=priority,
        business=business_hours,
    )


PageFilters = Annotated[Filters, Depends(_filters)]


@router.get("/reports", response_class=HTMLResponse)
async def reports_page(
    request: Request,
    user: PageUser,
    app: App,
    filters: PageFilters,
) -> Response:
    """The figures of a period with their charts; each figure opens the tickets behind it."""
    require_staff(user)
    scope = filters.scope()

    def read(conn: Connection) -> dict[str, Any]:
        return {
            "summary": figures.summary(conn, scope, filters.minutes),
            "reopens": len(metrics.facts(conn, "reopens", scope, metrics.calendar_minutes)),
            "categories": lookups.category_names(conn),
            "agents": lookups.assignable(conn),
        }

    data = await app.db.read(read)
    tr = i18n.translator(request.state.locale)
    return await render(
        request,
        "reports.html",
        user,
        title=tr.gettext("Reports"),
        filters=filters,
        figures=[(metric, tr.gettext(label)) for metric, label in FIGURES],
        charts={name: (tr.gettext(title), wanted) for name, (title, wanted) in CHARTS.items()},
        priorities=[p.value for p in Priority],
        **data,
    )


@router.get("/reports/tickets", response_class=HTMLResponse)
async def report_tickets(
    request: Request,
    user: PageUser,
    app: App,
    filters: PageFilters,
    metric: metrics.Metric = "tickets_created",
) -> Response:
    """The tickets behind one figure, each linking to its page and timeline."""
    require_staff(user)
    scope = filters.scope()
    found = await app.db.read(lambda conn: drilldown(conn, metric, scope, filters.minutes, limit=1000))
    tr = i18n.translator(request.state.locale)
    figure = tr.gettext(dict(FIGURES)[metric])
    title = tr.gettext("Reports: %(figure)s") % {"figure": figure}
    return await render(request, "report_tickets.html", user, title=title, figure=figure, filters=filters, **found)


@router.get("/reports/charts/{chart}.svg")
async def report_chart(
    request: Request,
    user: PageUser,
    app: App,
    chart: Chart,
    filters: PageFilters,
) -> Response:
    """A chart (pygal SVG, like the event statistics) of one or two metrics over the period, in the reader's
    language."""
    require_staff(user)
    scope = filters.scope()
    title, wanted = CHARTS[chart]
    now = app.clock()

    def read(conn: Connection) -> dict[metrics.Metric, list[dict[str, Any]]]:
        return {m: metrics.series(conn, m, scope, filters.minutes, filters.interval, now=now) for m in wanted}

    points = await app.db.read(read)
    first = next(iter(points.values()))
    locale, tr = request.state.locale, i18n.translator(request.state.locale)
    labels = [charts.tick(p["start"], daily=True, locale=locale) for p in first]
    series = {tr.gettext(SERIES[m]): [p["value"] for p in found] for m, found in points.items()}
    counts = charts.BucketCounts(labels, series)
    svg = charts.render(
        counts, title=tr.gettext(title), stacked=False, empty=tr.gettext("No tickets in this period"), locale=locale
    )
    return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "no-store"})
