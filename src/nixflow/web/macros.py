"""The replies and macros page (agents and admins): rendered in the browser from `/api/replies` and `/api/macros`,
so the page follows the API; the server hands it the choices (teams, agents, statuses, priorities)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import Connection

from nixflow.api.deps import App
from nixflow.domain.macros import Scope
from nixflow.domain.tickets import Status
from nixflow.domain.values import Priority
from nixflow.services.macro_templates import FILTERS, VARIABLES
from nixflow.web import lookups
from nixflow.web.rendering import PageRoute, PageUser, render, require_staff, translator_of

router = APIRouter(include_in_schema=False, route_class=PageRoute)


@router.get("/macros", response_class=HTMLResponse)
async def macros_page(request: Request, user: PageUser, app: App) -> Response:
    """Canned replies and macros: list, make, edit, delete (agents their own; admins shared ones too)."""
    require_staff(user)

    def read(conn: Connection) -> dict[str, Any]:
        return {"categories": lookups.category_names(conn), "agents": lookups.assignable(conn)}

    data = await app.db.read(read)
    scopes = [s.value for s in Scope] if user.is_admin else [Scope.PERSONAL.value]
    return await render(
        request,
        "desk_macros.html",
        user,
        title=translator_of(request).gettext("Replies and macros"),
        scopes=scopes,
        statuses=[s.value for s in Status],
        priorities=[p.value for p in Priority],
        variables=VARIABLES,
        filters=sorted(FILTERS),
        **data,
    )
