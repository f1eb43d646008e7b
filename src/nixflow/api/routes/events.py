"""The event log: list, read, statistics, catalogue, replay (admin)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BeforeValidator

from nixflow.api.deps import AdminUser, App, CurrentUser, GuardedRoute
from nixflow.api.schemas import (
    EventPage,
    EventRead,
    EventStats,
    EventTypeRead,
    PriorityName,
    ReplayAccepted,
    rfc3339,
)
from nixflow.domain import catalogue
from nixflow.domain.errors import NotFound, ValidationFailed
from nixflow.domain.values import EventStatus, Priority
from nixflow.events import replay
from nixflow.store import event_log, event_stats

router = APIRouter(prefix="/api/events", tags=["events"], route_class=GuardedRoute)
StatusName = Annotated[str | None, Query(pattern="^(pending|processing|completed|failed|retrying)$")]
Time = Annotated[datetime | None, BeforeValidator(rfc3339)]


def _range(since: datetime | None, until: datetime | None) -> None:
    for value in (since, until):
        if value is not None and value.tzinfo is None:
            raise ValidationFailed("since and until need a time zone (RFC 3339, e.g. 2026-01-01T00:00:00Z)")


@router.get("", response_model=EventPage)
async def list_events(
    _: AdminUser,
    app: App,
    type: Annotated[str | None, Query(max_length=64)] = None,
    category: Annotated[str | None, Query(max_length=16)] = None,
    status: StatusName = None,
    priority: PriorityName | None = None,
    aggregate_type: Annotated[str | None, Query(max_length=32)] = None,
    aggregate_id: Annotated[str | None, Query(max_length=64)] = None,
    correlation_id: Annotated[str | None, Query(max_length=36)] = None,
    since: Time = None,
    until: Time = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(pattern=event_log.CURSOR_PATTERN)] = None,
) -> dict[str, Any]:
    """Events, newest first, filtered."""
    _range(since, until)
    flt = event_log.EventFilter(
        type=type,
        category=category,
        status=EventStatus(status) if status else None,
        priority=Priority(priority) if priority else None,
        aggregate_type=aggregate_type,
        aggregate_id=aggregate_id,
        correlation_id=correlation_id,
        since=since,
        until=until,
    )
    records, next_cursor = await app.db.read(lambda conn: event_log.find_many(conn, flt, limit=limit, cursor=cursor))
    return {"items": [r.envelope() for r in records], "next_cursor": next_cursor}


@router.get("/stats", response_model=EventStats)
async def stats(_: AdminUser, app: App, since: Time = None, until: Time = None) -> dict[str, Any]:
    """Counts by type, status and priority."""
    _range(since, until)
    return await app.db.read(lambda conn: event_stats.stats(conn, since=since, until=until))


@router.get("/types", response_model=list[EventTypeRead])
async def types(user: CurrentUser) -> list[dict[str, Any]]:
    """The catalogue: every event type with its JSON Schema."""
    return catalogue.catalogue_json()


@router.get("/{event_id}", response_model=EventRead)
async def get_event(event_id: str, _: AdminUser, app: App) -> dict[str, Any]:
    """One event."""
    record = await app.db.read(lambda conn: event_log.find(conn, event_id))
    if record is None:
        raise NotFound(f"event {event_id} not found")
    return record.envelope()


@router.post("/{event_id}/replay", response_model=ReplayAccepted, status_code=202)
async def replay_event(event_id: str, _: AdminUser, app: App) -> ReplayAccepted:
    """Deliver the event to its handlers again; handlers that already did their part skip it."""
    count = await replay.replay(app, [event_id])
    if count == 0:
        raise NotFound(f"event {event_id} not found")
    return ReplayAccepted(event_id=event_id, status="pending")
