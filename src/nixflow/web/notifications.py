"""The notifications page: the signed-in user's notifications, newest first, a page at a time."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import Connection

from nixflow.api.deps import App
from nixflow.notifications import inbox
from nixflow.web import lookups
from nixflow.web.rendering import PageRoute, PageUser, pages, render, translator_of

router = APIRouter(include_in_schema=False, route_class=PageRoute)

PAGE_SIZE = 50


@router.get("/notifications", response_class=HTMLResponse)
async def notifications_page(
    request: Request,
    user: PageUser,
    app: App,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
    unread: bool = False,
) -> Response:
    """What you were told, and why; mark one or all read."""

    def read(conn: Connection) -> dict[str, Any]:
        items, next_cursor = inbox.list_page(
            conn, user_id=user.id, unread=unread, limit=PAGE_SIZE, cursor=cursor, locale=request.state.locale
        )
        return {
            "items": items,
            "pages": pages(request, next_cursor),
            "unread_count": inbox.unread_count(conn, user_id=user.id),
            "rules": lookups.rule_names(conn) if user.is_staff else {},
        }

    data = await app.db.read(read)
    return await render(
        request,
        "notifications.html",
        user,
        title=translator_of(request).gettext("Notifications"),
        unread=unread,
        **data,
    )
