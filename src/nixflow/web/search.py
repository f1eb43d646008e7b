"""The search page (`/search?q=`): tickets you may see, best first, with where each matched."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from nixflow.api.deps import App
from nixflow.domain.errors import ValidationFailed
from nixflow.domain.ticket_search import FILTER_KEYS, MAX_QUERY
from nixflow.search.query import search
from nixflow.web.rendering import PageRoute, PageUser, render

router = APIRouter(include_in_schema=False, route_class=PageRoute)
PAGE_SIZE = 50


@router.get("/search", response_class=HTMLResponse)
async def search_page(
    request: Request, user: PageUser, app: App, q: Annotated[str, Query(max_length=MAX_QUERY)] = ""
) -> Response:
    """The search form and, when asked, the results (a query that cannot be understood says why)."""
    hits = None
    problem = None
    if q.strip():
        try:
            hits = await app.db.read(lambda conn: search(conn, viewer=user, query=q, limit=PAGE_SIZE))
        except ValidationFailed as exc:
            problem = str(exc)
    return await render(
        request, "search.html", user, title="Search tickets", q=q, hits=hits, problem=problem, filters=FILTER_KEYS
    )
