"""Time entries on a ticket (agents and admins; requesters never see them): list, log, change or delete one's own."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field, StrictBool

from nixflow.api.deps import App, Ctx, GuardedRoute, PathId, StaffUser
from nixflow.api.routes.events import Time
from nixflow.api.routes.reports import CSV_RESPONSE, _csv, _utc
from nixflow.api.schemas import Minutes, Strict, TimeSpent
from nixflow.domain.csat import MAX_NOTE
from nixflow.reports.time_spent import TimeDimension, totals
from nixflow.services import time_entries

router = APIRouter(prefix="/api/tickets", tags=["time"], route_class=GuardedRoute)
reports_router = APIRouter(prefix="/api/reports", tags=["reports"], route_class=GuardedRoute)

Note = Annotated[str, Field(max_length=MAX_NOTE)]


class TimeEntryUpdate(Strict):
    minutes: Minutes | None = None
    billable: StrictBool | None = None
    note: Note | None = None


class TimeEntryRead(BaseModel):
    id: int
    ticket_id: int
    agent_id: int
    agent_name: str
    minutes: int
    billable: bool
    note: str
    created_at: datetime
    updated_at: datetime


class TimeEntries(BaseModel):
    ticket_id: int
    total_minutes: int
    billable_minutes: int
    items: list[TimeEntryRead]


@router.get("/{ticket_id}/time-entries", response_model=TimeEntries)
async def list_entries(ticket_id: PathId, user: StaffUser, app: App) -> dict[str, Any]:
    """The ticket's time entries, oldest first, with the total and billable minutes."""
    return await app.db.read(lambda conn: time_entries.listed(conn, ticket_id=ticket_id))


@router.post("/{ticket_id}/time-entries", response_model=TimeEntryRead, status_code=201)
async def log_time(ticket_id: PathId, body: TimeSpent, user: StaffUser, app: App, ctx: Ctx) -> dict[str, Any]:
    """Log time spent on the ticket (emits `ticket.time_logged`); on its own, or beside a reply."""
    return await app.writer.run(
        lambda tx: time_entries.log(
            tx, actor=user, ticket_id=ticket_id, minutes=body.minutes, billable=body.billable, note=body.note
        ),
        ctx,
    )


@router.patch("/{ticket_id}/time-entries/{entry_id}", response_model=TimeEntryRead)
async def change_entry(
    ticket_id: PathId, entry_id: PathId, body: TimeEntryUpdate, user: StaffUser, app: App, ctx: Ctx
) -> dict[str, Any]:
    """Change one's own entry (403 for another's); emits `ticket.time_entry_changed`."""
    changes = body.model_dump(exclude_unset=True)
    return await app.writer.run(
        lambda tx: time_entries.change(tx, actor=user, ticket_id=ticket_id, entry_id=entry_id, **changes), ctx
    )


@router.delete("/{ticket_id}/time-entries/{entry_id}", status_code=204)
async def delete_entry(ticket_id: PathId, entry_id: PathId, user: StaffUser, app: App, ctx: Ctx) -> Response:
    """Delete one's own entry (403 for another's); emits `ticket.time_entry_deleted`."""
    await app.writer.run(lambda tx: time_entries.remove(tx, actor=user, ticket_id=ticket_id, entry_id=entry_id), ctx)
    return Response(status_code=204)


class TimeRow(BaseModel):
    key: int | str | None
    label: str
    minutes: int
    billable_minutes: int
    entries: int


class TimeReport(BaseModel):
    by: TimeDimension
    rows: list[TimeRow]


@reports_router.get("/time", response_model=TimeReport, responses=CSV_RESPONSE)
async def time_report(
    _: StaffUser,
    app: App,
    by: TimeDimension = "agent",
    since: Time = None,
    until: Time = None,
    format: Annotated[Literal["json", "csv"], Query()] = "json",
) -> Any:
    """Minutes logged (all and billable) per agent, organization, month or ticket; entries logged in the period."""
    rows = await app.db.read(lambda conn: totals(conn, by, since=_utc(since), until=_utc(until)))
    if format == "csv":
        return _csv(rows, list(TimeRow.model_fields))
    return {"by": by, "rows": rows}
