"""In-app notifications of the signed-in user, and their notification preferences."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, StrictBool
from sqlalchemy import Connection

from nixflow.api.deps import App, Ctx, CurrentUser, GuardedRoute, PathId
from nixflow.api.schemas import Strict
from nixflow.notifications import inbox, preferences
from nixflow.services import user_language
from nixflow.store import event_log

router = APIRouter(prefix="/api", tags=["notifications"], route_class=GuardedRoute)


class NotificationRead(BaseModel):
    id: int
    kind: str
    ticket_id: int | None
    event_id: str
    title: str
    body: str
    read_at: datetime | None
    created_at: datetime
    # Why it was sent: the event (and rule) that caused it, and why this person was told.
    event_type: str
    rule_id: int | None
    reason: str


class NotificationPage(BaseModel):
    items: list[NotificationRead]
    next_cursor: str | None


class UnreadCount(BaseModel):
    count: int


class KindFlags(Strict):
    assigned: StrictBool
    comments: StrictBool
    status: StrictBool
    approvals: StrictBool
    sla: StrictBool
    rules: StrictBool


class NotificationPreferences(Strict):
    email: KindFlags
    in_app: KindFlags
    digest: Literal["off", "hourly", "daily"]


@router.get("/notifications", response_model=NotificationPage)
async def list_notifications(
    request: Request,
    user: CurrentUser,
    app: App,
    unread: bool = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(pattern=event_log.CURSOR_PATTERN)] = None,
) -> NotificationPage:
    """Your in-app notifications, newest first (`unread=true`: only those not read yet); each `title` in your
    language (your account's, else `Accept-Language`'s)."""

    def read(conn: Connection) -> tuple[list[dict[str, Any]], str | None]:
        locale = user_language.chosen_locale(conn, user_id=user.id) or request.state.locale
        return inbox.list_page(conn, user_id=user.id, unread=unread, limit=limit, cursor=cursor, locale=locale)

    items, next_cursor = await app.db.read(read)
    return NotificationPage(items=[NotificationRead(**i) for i in items], next_cursor=next_cursor)


@router.get("/notifications/unread-count", response_model=UnreadCount)
async def unread_count(user: CurrentUser, app: App) -> UnreadCount:
    """How many of your notifications are unread (the bell)."""
    return UnreadCount(count=await app.db.read(lambda conn: inbox.unread_count(conn, user_id=user.id)))


@router.post("/notifications/read-all", status_code=204)
async def read_all(user: CurrentUser, app: App, ctx: Ctx) -> Response:
    """Mark all your notifications read."""
    await app.writer.run(lambda tx: inbox.mark_all_read(tx, user_id=user.id), ctx)
    return Response(status_code=204)


@router.post("/notifications/{notification_id}/read", status_code=204)
async def read_one(notification_id: PathId, user: CurrentUser, app: App, ctx: Ctx) -> Response:
    """Mark one of your notifications read; someone else's is 404."""
    await app.writer.run(lambda tx: inbox.mark_read(tx, user_id=user.id, notification_id=notification_id), ctx)
    return Response(status_code=204)


@router.get("/auth/me/notification-preferences", response_model=NotificationPreferences)
async def get_preferences(user: CurrentUser, app: App) -> NotificationPreferences:
    """What you are told, on which channel; defaults: everything, in-app and by email, no digest."""
    chosen = await app.db.read(lambda conn: preferences.get(conn, user_id=user.id))
    return NotificationPreferences(**chosen.public())


@router.put("/auth/me/notification-preferences", response_model=NotificationPreferences)
async def put_preferences(
    body: NotificationPreferences, user: CurrentUser, app: App, ctx: Ctx
) -> NotificationPreferences:
    """Replace your notification preferences (every kind on both channels, and the digest)."""
    chosen = await app.writer.run(
        lambda tx: preferences.put(
            tx, user_id=user.id, email=body.email.model_dump(), in_app=body.in_app.model_dump(), digest=body.digest
        ),
        ctx,
    )
    return NotificationPreferences(**chosen.public())
