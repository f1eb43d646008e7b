"""The workload page (agents and admins): each agent's open tickets now, and what they solved lately."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import Connection

from nixflow.api.deps import App
from nixflow.reports import metrics
from nixflow.services import workload
from nixflow.web import lookups
from nixflow.web.rendering import PageRoute, PageUser, render, require_staff, translator_of

router = APIRouter(include_in_schema=False, route_class=PageRoute)
SOLVED_DAYS = 7


@router.get("/reports/workload", response_class=HTMLResponse)
async def workload_page(request: Request, user: PageUser, app: App) -> Response:
    """Per agent: open tickets by status and priority, overdue ones, solved in the last week; each links into the
    queue filtered by that agent."""
    require_staff(user)
    now = app.clock()

    def read(conn: Connection) -> dict[str, Any]:
        rows = workload.open_by_assignee(conn, now=now, people=lookups.assignable(conn))
        week = metrics.Scope(until=now, since=now - timedelta(days=SOLVED_DAYS))
        solved = {r["key"]: r["tickets_solved"] for r in metrics.workload(conn, week, "agent")}
        for row in rows:
            row["solved"] = solved.get(row["assignee_id"], 0)
        return {"rows": rows}

    data = await app.db.read(read)
    return await render(
        request,
        "workload.html",
        user,
        title=translator_of(request).gettext("Workload per agent"),
        statuses=workload.STATUSES,
        priorities=workload.PRIORITIES,
        solved_days=SOLVED_DAYS,
        **data,
    )
