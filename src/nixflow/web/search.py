"""The search page (`/search?q=`): tickets you may see, best first, with where each matched, page by page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from nixflow.api.deps import App
from nixflow.domain.errors import ValidationFailed
from nixflow.domain.ticket_search import FILTER_KEYS, MAX_OFFSET, MAX_QUERY, SearchRefused
from nixflow.i18n import N_, Translator
from nixflow.i18n.formatting import format_number
from nixflow.search.query import search
from nixflow.web.rendering import PageRoute, PageUser, pages, render, translator_of

router = APIRouter(include_in_schema=False, route_class=PageRoute)
PAGE_SIZE = 50


# Why a search cannot be read, for a person (the API's `detail` stays English).
REFUSALS = {
    "status": N_("status:%(value)s is not a status (%(known)s)"),
    "priority": N_("priority:%(value)s is not a priority (%(known)s)"),
    "too_long": N_("The search is longer than %(max)s characters."),
    "unknown_filter": N_("Unknown search filter “%(key)s” (known: %(known)s)"),
    "empty_filter": N_("The search filter “%(key)s” needs a value."),
}


def refusal(tr: Translator, exc: ValidationFailed) -> str:
    """A refused search's reason in the reader's language; one not known here, a translated frame round it."""
    if isinstance(exc, SearchRefused) and exc.reason in REFUSALS:
        values = {k: format_number(v, locale=tr.locale) if isinstance(v, int) else v for k, v in exc.values.items()}
        return tr.gettext(REFUSALS[exc.reason]) % values
    return tr.gettext("This search cannot be run: %(detail)s") % {"detail": exc.detail}


@router.get("/search", response_class=HTMLResponse)
async def search_page(
    request: Request,
    user: PageUser,
    app: App,
    q: Annotated[str, Query(max_length=MAX_QUERY)] = "",
    cursor: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> Response:
    """The search form and, when asked, the results (a query that cannot be understood says why)."""
    hits = None
    problem = None
    next_cursor = None
    if q.strip():
        try:
            hits = await app.db.read(
                lambda conn: search(conn, viewer=user, query=q, limit=PAGE_SIZE + 1, offset=cursor)
            )
        except ValidationFailed as exc:
            problem = refusal(translator_of(request), exc)
    if hits is not None and len(hits) > PAGE_SIZE and cursor + PAGE_SIZE < MAX_OFFSET:
        hits, next_cursor = hits[:PAGE_SIZE], str(cursor + PAGE_SIZE)
    return await render(
        request,
        "search.html",
        user,
        title=translator_of(request).gettext("Search tickets"),
        q=q,
        hits=hits,
        problem=problem,
        filters=FILTER_KEYS,
        pages=pages(request, next_cursor),
        first=cursor + 1,
    )
