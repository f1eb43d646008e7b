"""Knowledge-base articles: write (agents and admins), read (as far as visibility allows), versions, restore."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, Field, StringConstraints

from nixflow.api.deps import App, Ctx, GuardedRoute, PathId, Reader, StaffUser, context_for
from nixflow.api.schemas import Strict, Title
from nixflow.api.security import client_address
from nixflow.domain.json_types import NOT_BLANK, Id
from nixflow.domain.kb import readable
from nixflow.domain.kb_languages import Language
from nixflow.kb import articles, reading, translations
from nixflow.store import event_log

router = APIRouter(prefix="/api/kb", tags=["knowledge base"], route_class=GuardedRoute)

ArticleStatusName = Literal["draft", "published", "archived"]
VisibilityName = Literal["public", "requesters", "internal"]
ArticleBody = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=100_000, pattern=NOT_BLANK)]
Tag = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=50, pattern=NOT_BLANK)]
MAX_VERSION = 2**31 - 1  # versions are 32-bit integers in the database
VersionPath = Annotated[int, Path(ge=1, le=MAX_VERSION)]


class ArticleCreate(Strict):
    title: Title
    body: ArticleBody
    status: ArticleStatusName = "draft"
    visibility: VisibilityName = "public"
    category_id: Id | None = None
    tags: list[Tag] = Field(default_factory=list, max_length=20)
    language: Language = "en"


class TranslationCreate(Strict):
    language: Language
    title: Title
    body: ArticleBody
    status: ArticleStatusName | None = Field(default=None, description="Default: the translated article's status.")


class ArticleUpdate(Strict):
    version: Id | None = Field(default=None, description="The version you edited: 409 if the article moved on.")
    title: Title | None = None
    body: ArticleBody | None = None
    status: ArticleStatusName | None = None
    visibility: VisibilityName | None = None
    category_id: Id | None = None
    tags: list[Tag] | None = Field(default=None, max_length=20)


class ArticleRead(BaseModel):
    id: int
    title: str
    body: str
    body_html: str
    status: ArticleStatusName
    visibility: VisibilityName
    category_id: int | None
    tags: list[str]
    version: int
    language: Language
    translation_of: int | None = Field(description="The article this one translates; null for an original.")
    created_at: datetime
    updated_at: datetime


class ArticlePage(BaseModel):
    items: list[ArticleRead]
    next_cursor: str | None


class ArticleVersionRead(BaseModel):
    article_id: int
    version: int
    title: str
    body: str
    status: ArticleStatusName
    visibility: VisibilityName
    category_id: int | None
    tags: list[str]
    author_id: int
    created_at: datetime
    restored_from: int | None


class ArticleDiff(BaseModel):
    article_id: int
    from_version: int
    to_version: int
    diff: str


@router.post("/articles", response_model=ArticleRead, status_code=201)
async def create_article(body: ArticleCreate, user: StaffUser, app: App, ctx: Ctx) -> ArticleRead:
    """Write an article (agents and admins); version 1 is kept."""
    values = body.model_dump()
    return ArticleRead(**await app.writer.run(lambda tx: articles.create(tx, author=user, **values), ctx))


@router.get("/articles", response_model=ArticlePage)
async def list_articles(
    reader: Reader,
    app: App,
    status: ArticleStatusName | None = None,
    tag: Annotated[str | None, Query(max_length=50)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(pattern=event_log.CURSOR_PATTERN)] = None,
) -> ArticlePage:
    """Articles you may read, newest first (requesters: published ones their visibility allows)."""
    may = readable(reading.role_of(reader))
    items, next_cursor = await app.db.read(
        lambda conn: articles.list_page(conn, may=may, status=status, tag=tag, limit=limit, cursor=cursor)
    )
    return ArticlePage(items=[ArticleRead(**i) for i in items], next_cursor=next_cursor)


@router.get("/articles/{article_id}", response_model=ArticleRead)
async def get_article(
    article_id: PathId, request: Request, reader: Reader, app: App, language: Language | None = None
) -> ArticleRead:
    """One article (404 if you may not read it), or its translation into `language` when there is one you may
    read; the view is recorded (`kb.article_viewed`, once per reader, version and 30 minutes); 429 past 120 reads a
    minute per client."""
    ctx = context_for(request, None if reader is None else reader.id)
    client = client_address(request, app.settings)
    read = reading.view(app.db, app.writer, app.kb_reads, reader=reader, client=client, article_id=article_id,
                        ctx=ctx, now=app.clock(), language=language)  # fmt: skip
    return ArticleRead(**await read)


@router.post("/articles/{article_id}/translations", response_model=ArticleRead, status_code=201)
async def translate_article(
    article_id: PathId, body: TranslationCreate, user: StaffUser, app: App, ctx: Ctx
) -> ArticleRead:
    """Write the article in another language (agents and admins): a new article of its group with its own
    versions; 409 when the article already has a translation in that language."""
    values = body.model_dump()
    return ArticleRead(
        **await app.writer.run(lambda tx: translations.translate(tx, author=user, article_id=article_id, **values), ctx)
    )


@router.get("/articles/{article_id}/translations", response_model=list[ArticleRead])
async def list_translations(article_id: PathId, reader: Reader, app: App) -> list[ArticleRead]:
    """The article and its translations that you may read, the original first."""
    may = readable(reading.role_of(reader))
    found = await app.db.read(lambda conn: translations.translations(conn, article_id=article_id, may=may))
    return [ArticleRead(**a) for a in found]


@router.patch("/articles/{article_id}", response_model=ArticleRead)
async def update_article(article_id: PathId, body: ArticleUpdate, user: StaffUser, app: App, ctx: Ctx) -> ArticleRead:
    """Save changes as a new version; 409 when `version` is stale."""
    changes = body.model_dump(exclude_unset=True, exclude={"version"})
    changes = {k: v for k, v in changes.items() if v is not None or k == "category_id"}
    return ArticleRead(
        **await app.writer.run(
            lambda tx: articles.edit(tx, editor=user, article_id=article_id, changes=changes, version=body.version),
            ctx,
        )
    )


@router.delete("/articles/{article_id}", status_code=204)
async def delete_article(article_id: PathId, user: StaffUser, app: App, ctx: Ctx) -> Response:
    """Delete an article and its versions."""
    await app.writer.run(lambda tx: articles.remove(tx, actor=user, article_id=article_id), ctx)
    return Response(status_code=204)


@router.get("/articles/{article_id}/versions", response_model=list[ArticleVersionRead])
async def list_versions(article_id: PathId, user: StaffUser, app: App) -> list[ArticleVersionRead]:
    """Every saved version of the article, newest first (who saved it, when, what it said)."""
    found = await app.db.read(lambda conn: articles.versions(conn, article_id=article_id))
    return [ArticleVersionRead(**v) for v in found]


@router.get("/articles/{article_id}/versions/{version}", response_model=ArticleVersionRead)
async def get_version(article_id: PathId, version: VersionPath, user: StaffUser, app: App) -> ArticleVersionRead:
    """One saved version of the article."""
    found = await app.db.read(lambda conn: articles.version(conn, article_id=article_id, number=version))
    return ArticleVersionRead(**found)


@router.get("/articles/{article_id}/diff", response_model=ArticleDiff)
async def diff_versions(
    article_id: PathId,
    user: StaffUser,
    app: App,
    from_version: Annotated[int, Query(alias="from", ge=1, le=MAX_VERSION)],
    to_version: Annotated[int, Query(alias="to", ge=1, le=MAX_VERSION)],
) -> ArticleDiff:
    """A unified diff of the title and body between two versions."""
    found = await app.db.read(lambda conn: articles.diff(conn, article_id=article_id, old=from_version, new=to_version))
    return ArticleDiff(**found)


@router.post("/articles/{article_id}/versions/{version}/restore", response_model=ArticleRead)
async def restore_version(article_id: PathId, version: VersionPath, user: StaffUser, app: App, ctx: Ctx) -> ArticleRead:
    """Save an old version's title, body, category and tags as the newest version."""
    return ArticleRead(
        **await app.writer.run(lambda tx: articles.restore(tx, editor=user, article_id=article_id, number=version), ctx)
    )
