"""Ticket search: ranked, with where each ticket matched; requesters search their own tickets' public side."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel

from nixflow.api.deps import App, CurrentUser, GuardedRoute
from nixflow.domain.ticket_search import MAX_OFFSET, MAX_QUERY
from nixflow.search.query import search

router = APIRouter(prefix="/api", tags=["search"], route_class=GuardedRoute)

SearchQuery = Annotated[
    str,
    Query(
        min_length=1,
        max_length=MAX_QUERY,
        description='Words (all must match), "exact phrases", prefix* terms and filters: status:open|new|pending|'
        "resolved|closed, priority:<level>, assignee:me|none|<email>, category:<name>, requester:<email>, "
        "tag:<tag> (staff only), org:<name> (the tickets opened under it). Filters alone list the "
        "tickets they leave, last changed first.",
    ),
]


class SearchTicket(BaseModel):
    id: int
    title: str
    status: str
    priority: str
    assignee_id: int | None
    assignee_name: str | None


class SearchMatch(BaseModel):
    field: Literal["title", "description", "comment", "note", "attachment", "requester"]
    comment_number: int | None  # which comment (or note) of the ticket, counted from 1 in order
    snippet: str  # HTML: the text escaped, the matched words in <mark>


class SearchResult(BaseModel):
    ticket: SearchTicket
    match: SearchMatch
    score: float


class SearchPage(BaseModel):
    items: list[SearchResult]
    next_cursor: str | None


@router.get("/search", response_model=SearchPage)
async def search_tickets(
    q: SearchQuery,
    user: CurrentUser,
    app: App,
    limit: Annotated[int, Query(ge=1, le=50)] = 20,
    cursor: Annotated[str | None, Query(pattern=r"^[0-9]{1,5}$", description="From the previous page.")] = None,
) -> SearchPage:
    """Tickets you may see matching `q`, best first, each with a highlighted snippet of where it matched."""
    offset = min(int(cursor or 0), MAX_OFFSET)
    found = await app.db.read(lambda conn: search(conn, viewer=user, query=q, limit=limit + 1, offset=offset))
    more = len(found) > limit and offset + limit < MAX_OFFSET
    return SearchPage(
        items=[SearchResult.model_validate(f) for f in found[:limit]], next_cursor=str(offset + limit) if more else None
    )
