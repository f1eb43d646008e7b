"""Reports (agents and admins): figures, series, workload and drill-downs over the report read models,
as JSON or CSV (`format=csv`, or `Accept: text/csv`). The metrics are defined in docs/metrics.md."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field

from nixflow.api.deps import App, GuardedRoute, RoleGate
from nixflow.api.routes.events import Time
from nixflow.api.schemas import PriorityName, TagName
from nixflow.domain import tags
from nixflow.domain.fields import Entity
from nixflow.domain.json_types import MAX_ID
from nixflow.reports import figures, metrics
from nixflow.reports.drilldown import drilldown
from nixflow.services import field_definitions
from nixflow.services.users import Principal

staff_only = RoleGate(lambda user: user.is_staff, "reports are for agents and admins")
StaffUser = Annotated[Principal, Depends(staff_only)]
CSV_RESPONSE: dict[int | str, dict[str, Any]] = {200: {"content": {"text/csv": {"schema": {"type": "string"}}}}}
router = APIRouter(prefix="/api/reports", tags=["reports"], route_class=GuardedRoute)

OptionalId = Annotated[int | None, Query(ge=0, le=MAX_ID)]
# true: durations in whole business minutes of each ticket's calendar (docs/metrics.md).
BusinessHours = Annotated[bool, Query()]
Format = Annotated[Literal["json", "csv"] | None, Query()]


class Durations(BaseModel):
    median_minutes: float | None
    p90_minutes: float | None
    count: int


class Compliance(BaseModel):
    first_response: float | None
    resolution: float | None


class ReportSummary(BaseModel):
    tickets_created: int
    tickets_solved: int
    first_reply: Durations
    resolution: Durations
    sla_compliance: Compliance
    backlog_at_end: int


class SeriesPoint(BaseModel):
    start: datetime
    end: datetime
    value: int | float | None
    count: int


class ReportSeries(BaseModel):
    metric: metrics.Metric
    interval: metrics.Interval
    points: list[SeriesPoint]


class DrilldownItem(BaseModel):
    ticket_id: int
    title: str | None
    status: str | None
    priority: str | None
    category_id: int | None
    assignee_id: int | None
    at: datetime
    minutes: float | None
    outcome: Literal["met", "breached"] | None
    events_url: str
    fields: dict[str, Any] = Field(
        default_factory=dict, description="The ticket's custom field values now (CSV: a `field:<key>` column each)."
    )


class ReportDrilldown(BaseModel):
    metric: metrics.Metric
    total: int
    items: list[DrilldownItem]


class WorkloadRow(BaseModel):
    key: int | None
    tickets_created: int
    tickets_solved: int
    backlog_at_end: int


class ReportWorkload(BaseModel):
    by: Literal["agent", "category"]
    rows: list[WorkloadRow]


@dataclass(frozen=True)
class Ask:
    """What every report call shares: the scope, how to measure durations, and the wanted format."""

    scope: metrics.Scope
    minutes: metrics.Measure
    csv: bool


def _utc(value: datetime | None) -> datetime | None:
    """`value` in UTC (no zone: UTC); beyond the years datetime holds in UTC, its first or last instant."""
    if value is None:
        return None
    try:
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    except OverflowError:
        return (datetime.min if value.year == 1 else datetime.max).replace(tzinfo=UTC)


def ask(
    request: Request,
    app: App,
    since: Time = None,
    until: Time = None,
    category_id: OptionalId = None,
    agent_id: OptionalId = None,
    priority: PriorityName | None = None,
    tag: Annotated[TagName | None, Query(description="Only tickets that have this tag now.")] = None,
    organization_id: Annotated[
        int | None, Query(ge=0, le=MAX_ID, description="Only tickets opened under this organization.")
    ] = None,
    business_hours: BusinessHours = False,
    format: Format = None,
) -> Ask:
    """Parse the shared query: period (`until` defaults to now; times without a zone are UTC), filters."""
    minutes = metrics.measure(business_hours=business_hours)
    tagged = tags.normalise(tag) if tag is not None else None
    scope = metrics.Scope(
        _utc(until) or app.clock(), _utc(since), category_id, agent_id, priority, tagged, organization_id
    )
    wants_csv = format == "csv" or (format is None and "text/csv" in request.headers.get("accept", ""))
    return Ask(scope, minutes, wants_csv)


Asked = Annotated[Ask, Depends(ask)]


# What makes a spreadsheet read a cell as a formula: = + - @ first, or a tab or carriage return before one
# (OWASP "CSV injection"); such text is quoted so it stays text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """A value as a CSV cell: times in ISO 8601, text that a spreadsheet would run as a formula quoted."""
    if isinstance(value, str) and value[:1] in FORMULA_STARTS:
        return "'" + value
    return value.isoformat() if isinstance(value, datetime) else value


def _csv(rows: Iterable[Mapping[str, Any]], columns: list[str]) -> Response:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if row[c] is None else csv_cell(row[c]) for c in columns])
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8")


@router.get("/summary", response_model=ReportSummary, responses=CSV_RESPONSE)
async def summary(_: StaffUser, app: App, asked: Asked) -> Any:
    """The headline figures of a period."""
    found = await app.db.read(lambda conn: figures.summary(conn, asked.scope, asked.minutes))
    if not asked.csv:
        return found
    flat = {k: v for k, v in found.items() if not isinstance(v, dict)}
    for name in ("first_reply", "resolution"):
        flat |= {f"{name}_{k}": v for k, v in found[name].items()}
    flat |= {f"sla_{k}": v for k, v in found["sla_compliance"].items()}
    return _csv([flat], list(flat))


@router.get("/series", response_model=ReportSeries, responses=CSV_RESPONSE)
async def series(
    _: StaffUser, app: App, asked: Asked, metric: metrics.Metric = "tickets_created", interval: metrics.Interval = "day"
) -> Any:
    """One metric per day or week."""
    now = app.clock()
    points = await app.db.read(lambda conn: metrics.series(conn, metric, asked.scope, asked.minutes, interval, now=now))
    if asked.csv:
        return _csv(points, ["start", "end", "value", "count"])
    return {"metric": metric, "interval": interval, "points": points}


@router.get("/drilldown", response_model=ReportDrilldown, responses=CSV_RESPONSE)
async def drill(
    user: StaffUser,
    app: App,
    asked: Asked,
    metric: metrics.Metric = "tickets_created",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Any:
    """The tickets behind a figure, each with the link to its events."""
    found = await app.db.read(lambda conn: drilldown(conn, metric, asked.scope, asked.minutes, limit=limit))
    if asked.csv:
        defined = await app.db.read(lambda conn: field_definitions.listed(conn, viewer=user, entity=Entity.TICKET))
        keys = [f["key"] for f in defined]
        rows = [{**item, **{f"field:{k}": _cell(item["fields"].get(k)) for k in keys}} for item in found["items"]]
        return _csv(rows, [c for c in DrilldownItem.model_fields if c != "fields"] + [f"field:{k}" for k in keys])
    return found


def _cell(value: Any) -> Any:
    """A custom field's value in one CSV cell: a multi select's options joined by `; `, a checkbox true/false."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "; ".join(value) if isinstance(value, list) else value


@router.get("/workload", response_model=ReportWorkload, responses=CSV_RESPONSE)
async def workload(_: StaffUser, app: App, asked: Asked, by: Literal["agent", "category"] = "agent") -> Any:
    """Per current assignee or category: created and solved in the period, backlog at its end."""
    rows = await app.db.read(lambda conn: metrics.workload(conn, asked.scope, by))
    if asked.csv:
        return _csv(rows, ["key", *list(WorkloadRow.model_fields)[1:]])
    return {"by": by, "rows": rows}
