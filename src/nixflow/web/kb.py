"""Knowledge-base pages: browse and search (`/kb`), one article with its history (`/kb/{id}`), deflection
statistics (`/kb/stats`, admins). Readable without signing in only when NIXFLOW_KB_PUBLIC=true."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import Connection

from nixflow import i18n
from nixflow.api.deps import SESSION_COOKIE, App, PathId, context_for
from nixflow.api.reader_language import reader_language
from nixflow.api.security import client_address
from nixflow.domain.kb import ArticleStatus, Visibility, readable
from nixflow.domain.kb_languages import LANGUAGES, Language
from nixflow.kb import articles, reading, search, stats, translations
from nixflow.services.users import Principal, require_admin
from nixflow.web import lookups
from nixflow.web.rendering import PageRoute, PageUser, page_credential, pages, render, translator_of

router = APIRouter(include_in_schema=False, route_class=PageRoute)
PAGE_SIZE = 50


async def page_reader(request: Request, app: App) -> Principal | None:
    """The signed-in user, or None for a visitor without a session when the knowledge base is public."""
    if not request.cookies.get(SESSION_COOKIE) and app.settings.kb_public:
        return None
    return (await page_credential(request, app)).principal


@router.get("/kb", response_class=HTMLResponse)
async def kb_home(
    request: Request,
    app: App,
    q: Annotated[str, Query(max_length=500)] = "",
    cursor: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    """Browse the articles you may read, or search them."""
    reader = await page_reader(request, app)
    may = readable(reading.role_of(reader))
    language = reader_language(request)

    def read(conn: Connection) -> dict[str, Any]:
        if q.strip():
            hits = search.search(conn, query=q, may=may, limit=PAGE_SIZE, language=language)
            return {"hits": hits, "items": [], "pages": {}}
        items, next_cursor = articles.list_page(conn, may=may, status=None, tag=None, limit=PAGE_SIZE, cursor=cursor)
        return {"hits": None, "items": items, "pages": pages(request, next_cursor)}

    data = await app.db.read(read)
    categories = await app.db.read(lookups.category_names) if reader is not None and reader.is_staff else {}
    return await render(
        request,
        "kb.html",
        reader,
        title=translator_of(request).gettext("Knowledge base"),
        kb_public=app.settings.kb_public,
        q=q,
        statuses=[s.value for s in ArticleStatus],
        visibilities=[v.value for v in Visibility],
        categories=categories,
        languages=dict(i18n.language_names()),
        reader_language=language,
        **data,
    )


@router.get("/kb/stats", response_class=HTMLResponse)
async def kb_stats_page(request: Request, user: PageUser, app: App) -> Response:
    """Per article and version: suggested, viewed, helpful, tickets filed anyway, the deflection rate."""
    require_admin(user)
    items = await app.db.read(stats.article_stats)
    return await render(
        request,
        "kb_stats.html",
        user,
        title=translator_of(request).gettext("Knowledge-base deflection"),
        items=items,
    )


@router.get("/kb/{article_id}", response_class=HTMLResponse)
async def kb_article(
    request: Request,
    article_id: PathId,
    app: App,
    from_version: Annotated[int | None, Query(alias="from", ge=1, le=2**31 - 1)] = None,
    to_version: Annotated[int | None, Query(alias="to", ge=1, le=2**31 - 1)] = None,
    ticket: Annotated[int | None, Query(ge=0, le=2**53)] = None,
    language: Language | None = None,
    translate: bool = False,
) -> Response:
    """One article (in `language` when translated into it) with links to its other languages; for staff also its
    history, a diff of two versions, restore, linked tickets, and (`translate`) a form to translate it instead of
    the one to edit it."""
    reader = await page_reader(request, app)
    ctx = context_for(request, None if reader is None else reader.id)
    client = client_address(request, app.settings)
    article = await reading.view(app.db, app.writer, app.kb_reads, reader=reader, client=client,
                                 article_id=article_id, ctx=ctx, now=app.clock(), language=language)  # fmt: skip
    article_id = article["id"]  # the translation read, when there is one in `language`
    staff = reader is not None and reader.is_staff
    may = readable(reading.role_of(reader))

    def read(conn: Connection) -> dict[str, Any]:
        group = translations.translations(conn, article_id=article_id, may=may)
        if not staff:
            return {"history": [], "diff": None, "linked": [], "names": {}, "categories": {}, "translations": group}
        history = articles.versions(conn, article_id=article_id)
        diff = None
        if from_version is not None and to_version is not None:
            diff = articles.diff(conn, article_id=article_id, old=from_version, new=to_version)
        return {
            "history": history,
            "diff": diff,
            "linked": reading.linked_tickets(conn, article_id=article_id),
            "names": lookups.user_names(conn, {v["author_id"] for v in history}),
            "categories": lookups.category_names(conn),
            "translations": group,
        }

    data = await app.db.read(read)
    return await render(
        request,
        "kb_article.html",
        reader,
        title=article["title"],
        kb_public=app.settings.kb_public,
        article=article,
        ticket_id=ticket,
        statuses=[s.value for s in ArticleStatus],
        visibilities=[v.value for v in Visibility],
        languages=dict(i18n.language_names()),
        directions={code: i18n.direction(code) for code in LANGUAGES},
        translating=translate,
        untranslated=[code for code in LANGUAGES if code not in {a["language"] for a in data["translations"]}],
        **data,
    )
