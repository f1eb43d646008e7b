"""Finding and judging articles: search, suggestions while typing, feedback, "this solved it", deflection
statistics, and a draft article from a resolved ticket."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, StrictBool, StringConstraints

from nixflow.api.deps import App, Ctx, CurrentUser, GuardedRoute, PathId, Reader, StaffUser, context_for
from nixflow.api.reader_language import reader_language
from nixflow.api.routes.kb import ArticleRead
from nixflow.api.schemas import Strict
from nixflow.api.security import client_address
from nixflow.domain.json_types import Id
from nixflow.domain.kb import readable
from nixflow.domain.kb_languages import Language
from nixflow.kb import reading, search, stats

router = APIRouter(prefix="/api", tags=["knowledge base"], route_class=GuardedRoute)

SearchText = Annotated[str, Query(min_length=1, max_length=500, description='Words, "phrases" and prefix* terms.')]
PreferredLanguage = Annotated[
    Language | None, Query(description="Articles in this language first; default: from Accept-Language.")
]


class SearchHit(BaseModel):
    id: int
    title: str
    language: Language
    snippet: str  # HTML: the body's text escaped, matched words in <mark>
    score: float


class SearchResults(BaseModel):
    items: list[SearchHit]


class FeedbackCreate(Strict):
    helpful: StrictBool
    comment: Annotated[str, StringConstraints(strict=True, max_length=2000)] | None = None
    ticket_id: Id | None = None


class FeedbackRead(BaseModel):
    article_id: int
    version: int
    helpful: bool
    comment: str | None
    user_id: int
    ticket_id: int | None
    created_at: datetime


class SolvedRequest(Strict):
    ticket_id: Id | None = None  # an open ticket of yours: it is resolved; none: you need not open one
    query: Annotated[str, StringConstraints(strict=True, max_length=500)] | None = None


class SolvedRead(BaseModel):
    article_id: int
    version: int
    ticket_id: int | None
    ticket_status: str | None


class DeflectionCounts(BaseModel):
    suggested: int
    viewed: int
    helpful: int
    not_helpful: int
    tickets_after: int  # tickets filed by the same person within 24 h after it was suggested: not deflected
    deflected: int  # "this solved my problem" before a ticket was opened
    reached: int  # signed-in people it was suggested to
    deflection_rate: float | None  # share of those who filed no ticket within 24 h


class VersionStats(DeflectionCounts):
    version: int


class ArticleStats(DeflectionCounts):
    article_id: int
    title: str | None  # None: deleted since
    versions: list[VersionStats]


class KbStats(BaseModel):
    items: list[ArticleStats]


@router.get("/kb/search", response_model=SearchResults)
async def search_articles(
    q: SearchText,
    request: Request,
    reader: Reader,
    app: App,
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
    language: PreferredLanguage = None,
) -> SearchResults:
    """Articles you may read that match `q`, with highlighted snippets: one per article (its translation in your
    language where that matches), those in your language first, then the rest, best first."""
    may = readable(reading.role_of(reader))
    prefer = reader_language(request, language)
    found = await app.db.read(lambda conn: search.search(conn, query=q, may=may, limit=limit, language=prefer))
    return SearchResults(items=[SearchHit(**f) for f in found])


@router.get("/kb/suggest", response_model=SearchResults)
async def suggest_articles(
    q: SearchText,
    request: Request,
    reader: Reader,
    app: App,
    limit: Annotated[int, Query(ge=1, le=10)] = 5,
    language: PreferredLanguage = None,
) -> SearchResults:
    """Published articles for what you are typing (a new ticket's title), in your language first; each is logged
    as suggested once per reader, version and 30 minutes (not per keystroke); 429 past 120 reads a minute per
    client."""
    ctx = context_for(request, None if reader is None else reader.id)
    client = client_address(request, app.settings)
    found = await reading.suggest(app.db, app.writer, app.kb_reads, reader=reader, client=client, query=q,
                                  limit=limit, ctx=ctx, now=app.clock(),
                                  language=reader_language(request, language))  # fmt: skip
    return SearchResults(items=[SearchHit(**f) for f in found])


@router.post("/kb/articles/{article_id}/feedback", response_model=FeedbackRead, status_code=201)
async def give_feedback(
    article_id: PathId, body: FeedbackCreate, user: CurrentUser, app: App, ctx: Ctx
) -> FeedbackRead:
    """Say whether the article helped (optionally why, and on which ticket of yours)."""
    recorded = await app.writer.run(
        lambda tx: reading.feedback(
            tx, user=user, article_id=article_id, helpful=body.helpful, comment=body.comment, ticket_id=body.ticket_id
        ),
        ctx,
    )
    return FeedbackRead(**recorded)


@router.post("/kb/articles/{article_id}/solved", response_model=SolvedRead)
async def solved(article_id: PathId, body: SolvedRequest, user: CurrentUser, app: App, ctx: Ctx) -> SolvedRead:
    """ "This solved my problem": with `ticket_id`, that open ticket is resolved with the article linked; without,
    no ticket is needed (`kb.ticket_deflected`)."""
    done = await app.writer.run(
        lambda tx: reading.resolve_or_deflect(
            tx, user=user, article_id=article_id, ticket_id=body.ticket_id, query=body.query
        ),
        ctx,
    )
    return SolvedRead(**done)


@router.get("/kb/stats", response_model=KbStats)
async def kb_stats(user: StaffUser, app: App) -> KbStats:
    """Per article and version: suggested, viewed, helpful, not helpful, and tickets filed anyway within 24 h."""
    return KbStats(items=[ArticleStats(**i) for i in await app.db.read(stats.article_stats)])


@router.post("/tickets/{ticket_id}/kb-article", response_model=ArticleRead, status_code=201)
async def article_from_ticket(ticket_id: PathId, user: StaffUser, app: App, ctx: Ctx) -> ArticleRead:
    """A draft article from a resolved ticket (its title, the question, the answering comment), linked to it."""
    return ArticleRead(
        **await app.writer.run(lambda tx: reading.draft_from_ticket(tx, author=user, ticket_id=ticket_id), ctx)
    )
