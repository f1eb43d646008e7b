"""Business-hours calendars: staff read, admins write. An edit is a new version effective from a time."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, Field, StringConstraints

from nixflow.api.deps import App, Ctx, GuardedRoute, PathId, RoleGate, admin_only
from nixflow.api.schemas import Strict
from nixflow.domain.json_types import NOT_BLANK
from nixflow.outbound import targets
from nixflow.services import calendars, ical_feeds, sla_policies

staff_only = RoleGate(lambda user: user.is_staff, "calendars are for agents and admins")
router = APIRouter(
    prefix="/api/calendars", tags=["calendars"], route_class=GuardedRoute, dependencies=[Depends(staff_only)]
)

CalendarName = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=100, pattern=NOT_BLANK)]
ZoneName = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=64)]
# "HH:MM" from 00:00 to 24:00; the service also checks that a range ends after it starts and none overlap.
HHMM = Annotated[str, StringConstraints(strict=True, pattern=r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$")]
Ranges = Annotated[list[tuple[HHMM, HHMM]], Field(max_length=48)]
DateText = Annotated[str, StringConstraints(strict=True, pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
Code = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=16)]


class Hours(Strict):
    """Open ranges per weekday (local time); a missing day is closed."""

    mon: Ranges = Field(default_factory=list)
    tue: Ranges = Field(default_factory=list)
    wed: Ranges = Field(default_factory=list)
    thu: Ranges = Field(default_factory=list)
    fri: Ranges = Field(default_factory=list)
    sat: Ranges = Field(default_factory=list)
    sun: Ranges = Field(default_factory=list)


class Holidays(Strict):
    """Public holidays of a country (and subdivision) from the `holidays` package, plus custom dates."""

    country: Code | None = None
    subdivision: Code | None = None
    dates: Annotated[list[DateText], Field(max_length=1000)] = Field(default_factory=list)


class CalendarWrite(Strict):
    name: CalendarName
    timezone: ZoneName
    hours: Hours
    holidays: Holidays = Field(default_factory=Holidays)
    # An iCal feed whose events are closed time: fetched when the calendar is saved (PUT again to refresh).
    ical_url: Annotated[str, StringConstraints(strict=True, max_length=2000, pattern=targets.URL_PATTERN)] | None = None
    effective_from: datetime | None = None


class HoursRead(BaseModel):
    mon: list[list[str]] = []
    tue: list[list[str]] = []
    wed: list[list[str]] = []
    thu: list[list[str]] = []
    fri: list[list[str]] = []
    sat: list[list[str]] = []
    sun: list[list[str]] = []


class HolidaysRead(BaseModel):
    country: str | None
    subdivision: str | None
    dates: list[str]


class VersionRead(BaseModel):
    version: int
    effective_from: datetime
    timezone: str
    hours: HoursRead
    holidays: HolidaysRead
    ical_url: str | None
    closed_periods: int


class CalendarRead(VersionRead):
    """The calendar with its current version's fields, and every version."""

    id: int
    name: str
    created_at: datetime
    updated_at: datetime
    versions: list[VersionRead]


async def _body(body: CalendarWrite, app: App) -> dict[str, object]:
    data = body.model_dump()
    data["hours"] = {day: ranges for day, ranges in data["hours"].items() if ranges}
    if body.ical_url is not None:
        data["ical"] = await ical_feeds.fetch(body.ical_url, allow_private=app.settings.webhook_allow_private)
    return data


@router.get("", response_model=list[CalendarRead])
async def list_calendars(app: App) -> list[CalendarRead]:
    """Every calendar, with the version in effect now."""
    now = app.clock()
    return [CalendarRead(**c) for c in await app.db.read(lambda conn: calendars.list_calendars(conn, now=now))]


@router.post("", response_model=CalendarRead, status_code=201, dependencies=[Depends(admin_only)])
async def create_calendar(body: CalendarWrite, app: App, ctx: Ctx) -> CalendarRead:
    """Create a calendar (its first version also counts the time before it)."""
    data = await _body(body, app)
    return CalendarRead(**await app.writer.run(lambda tx: calendars.create_calendar(tx, body=data), ctx))


@router.get("/{calendar_id}", response_model=CalendarRead)
async def get_calendar(calendar_id: PathId, app: App) -> CalendarRead:
    """One calendar: the version in effect now, and every version."""
    now = app.clock()
    return CalendarRead(
        **await app.db.read(lambda conn: calendars.get_calendar(conn, calendar_id=calendar_id, now=now))
    )


@router.put("/{calendar_id}", response_model=CalendarRead, dependencies=[Depends(admin_only)])
async def put_calendar(calendar_id: PathId, body: CalendarWrite, app: App, ctx: Ctx) -> CalendarRead:
    """A new version effective at `effective_from` (default now); open tickets' running targets are re-timed."""
    data = await _body(body, app)
    return CalendarRead(
        **await app.writer.run(
            lambda tx: calendars.update_calendar(
                tx, calendar_id=calendar_id, body=data, retime=sla_policies.retime_calendar
            ),
            ctx,
        )
    )


@router.delete("/{calendar_id}", status_code=204, dependencies=[Depends(admin_only)])
async def delete_calendar(calendar_id: PathId, app: App, ctx: Ctx) -> Response:
    """Delete a calendar; 409 while an SLA policy or a category uses it."""
    await app.writer.run(lambda tx: calendars.delete_calendar(tx, calendar_id=calendar_id), ctx)
    return Response(status_code=204)
