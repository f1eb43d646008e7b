"""Translations: the same article in other languages, one per language, each an article with its own versions.

An article's `group_id` is the id of the original it translates (its own id for an original); the group holds
at most one article per language (a unique index), so a second translation into a language is a Conflict.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.exc import IntegrityError

from nixflow.domain.errors import Conflict
from nixflow.domain.kb import Readable, readable
from nixflow.kb import articles
from nixflow.services.users import Principal
from nixflow.store.db import Tx
from nixflow.store.tables import kb_articles


def _group_of(article: dict[str, Any]) -> int:
    original: int | None = article["translation_of"]
    return article["id"] if original is None else original


def _members(conn: Connection, group_id: int, may: Readable) -> list[dict[str, Any]]:
    query = select(kb_articles).where(kb_articles.c.group_id == group_id).order_by(kb_articles.c.id)
    rows = [dict(r._mapping) for r in conn.execute(query)]
    return [articles.public(r) for r in rows if articles.may_read(r, may)]


def translate(
    tx: Tx, *, author: Principal, article_id: int, language: str, title: str, body: str, status: str | None = None
) -> dict[str, Any]:
    """Write `article_id` in `language` as a new article of its group (version 1), with the original's visibility,
    category and tags, and its status unless `status` is given; Conflict when the group has that language."""
    source = articles.load(tx.conn, article_id=article_id, may=readable(author.role))
    group_id = _group_of(source)
    taken = tx.conn.execute(
        select(kb_articles.c.id).where(kb_articles.c.group_id == group_id, kb_articles.c.language == language)
    ).scalar()
    if taken is not None:
        raise Conflict(f"article {article_id} already has a translation in {language}: article {taken}")
    try:
        with tx.conn.begin_nested():  # PostgreSQL: a concurrent translation into `language` may commit first
            return articles.create(
                tx,
                author=author,
                title=title,
                body=body,
                status=status or source["status"],
                visibility=source["visibility"],
                category_id=source["category_id"],
                tags=source["tags"],
                language=language,
                group_id=group_id,
            )
    except IntegrityError:
        raise Conflict(f"article {article_id} was just translated into {language} by someone else") from None


def translations(conn: Connection, *, article_id: int, may: Readable) -> list[dict[str, Any]]:
    """The article and its translations the reader may see, original first; NotFound if it may not see this one."""
    return _members(conn, _group_of(articles.load(conn, article_id=article_id, may=may)), may)


def in_language(conn: Connection, *, article_id: int, language: str | None, may: Readable) -> dict[str, Any]:
    """The article in `language` when the reader may see such a translation, else the article itself."""
    article = articles.load(conn, article_id=article_id, may=may)
    if language is None or article["language"] == language:
        return article
    found = [a for a in _members(conn, _group_of(article), may) if a["language"] == language]
    return found[0] if found else article
