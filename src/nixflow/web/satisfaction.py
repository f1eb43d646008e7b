"""The satisfaction and time report pages (agents and admins): CSAT per agent, category, organization or week with
the comments behind each row, and the minutes logged per agent, organization or month; CSV links for each."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import Connection

from nixflow.api.deps import App
from nixflow.reports.drilldown import csat_comments
from nixflow.reports.satisfaction import CsatDimension, results
from nixflow.reports.time_spent import TimeDimension, totals
from nixflow.web.rendering import PageRoute, PageUser, render, require_staff, translator_of
from nixflow.web.reports import PageFilters

router = APIRouter(include_in_schema=False, route_class=PageRoute)
CSAT_BY: tuple[CsatDimension, ...] = ("agent", "category", "organization", "week")
TIME_BY: tuple[TimeDimension, ...] = ("agent", "organization", "month")


@router.get("/reports/satisfaction", response_class=HTMLResponse)
async def satisfaction_page(
    request: Request,
    user: PageUser,
    app: App,
    filters: PageFilters,
    by: CsatDimension = "agent",
    time_by: TimeDimension = "agent",
) -> Response:
    """CSAT of the answers first given in the period, grouped `by`; time logged in it, grouped `time_by`."""
    require_staff(user)
    scope = filters.scope()

    def read(conn: Connection) -> dict[str, Any]:
        return {
            "csat_rows": results(conn, by, since=scope.since, until=scope.until),
            "time_rows": totals(conn, time_by, since=scope.since, until=scope.until),
        }

    data = await app.db.read(read)
    return await render(
        request,
        "report_satisfaction.html",
        user,
        title=translator_of(request).gettext("Reports: satisfaction and time"),
        filters=filters,
        by=by,
        time_by=time_by,
        csat_by=CSAT_BY,
        time_dimensions=TIME_BY,
        **data,
    )


@router.get("/reports/satisfaction/comments", response_class=HTMLResponse)
async def satisfaction_comments(
    request: Request,
    user: PageUser,
    app: App,
    filters: PageFilters,
    by: CsatDimension = "agent",
    key: Annotated[str, Query(max_length=40)] = "none",
) -> Response:
    """The answers behind one CSAT row, newest first, with their comments and tickets."""
    require_staff(user)
    scope = filters.scope()
    found = await app.db.read(
        lambda conn: csat_comments(conn, by, key, since=scope.since, until=scope.until, limit=1000)
    )
    return await render(
        request,
        "report_csat_comments.html",
        user,
        title=translator_of(request).gettext("Reports: survey answers"),
        filters=filters,
        **found,
    )
