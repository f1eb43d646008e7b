"""Articles: write, read, list, and every save kept as a version that can be compared and restored."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from nixflow import markup as render
from nixflow.domain.errors import ChangedMeanwhile, NotFound, StaleVersion, ValidationFailed
from nixflow.domain.kb import ArticleStatus, Readable, Visibility
from nixflow.domain.kb_languages import LANGUAGES, SOURCE_LANGUAGE
from nixflow.kb import search
from nixflow.services.users import Principal
from nixflow.store.db import Tx, insert_returning_id
from nixflow.store.event_log import decode_cursor, encode_cursor
from nixflow.store.tables import categories, kb_article_tags, kb_article_versions, kb_articles

FIELDS = ("title", "body", "status", "visibility", "category_id", "tags")
MAX_TAGS = 20


PUBLIC = ("id", "title", "body", "body_html", "status", "visibility", "category_id", "tags", "version", "language")


def translation_of(row: dict[str, Any]) -> int | None:
    """The id of the article `row` translates; None for an original."""
    group_id: int | None = row["group_id"]
    return None if group_id is None or group_id == row["id"] else group_id


def public(row: dict[str, Any]) -> dict[str, Any]:
    """An article as the API shows it (`ArticleRead`)."""
    shown = {k: row[k] for k in PUBLIC}
    return {
        **shown,
        "translation_of": translation_of(row),
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


def _row(conn: Connection, article_id: int) -> dict[str, Any] | None:
    row = conn.execute(select(kb_articles).where(kb_articles.c.id == article_id)).first()
    return None if row is None else dict(row._mapping)


def may_read(article: dict[str, Any], may: Readable) -> bool:
    """Whether a reader who `may` see these statuses and visibilities sees `article`."""
    return article["status"] in may.statuses and article["visibility"] in may.visibilities


def load(conn: Connection, *, article_id: int, may: Readable) -> dict[str, Any]:
    """An article as the API shows it; one the reader may not see is NotFound, as a missing one."""
    row = _row(conn, article_id)
    if row is None or not may_read(row, may):
        raise NotFound(f"article {article_id} not found")
    return public(row)


def list_page(
    conn: Connection, *, may: Readable, status: str | None, tag: str | None, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """Articles the reader may see, newest first, filtered by status and tag; and the next page's cursor."""
    query = select(kb_articles).where(
        kb_articles.c.status.in_(sorted(may.statuses)), kb_articles.c.visibility.in_(sorted(may.visibilities))
    )
    if status:
        query = query.where(kb_articles.c.status == status)
    if tag:
        tagged = select(kb_article_tags.c.article_id).where(kb_article_tags.c.tag == storable(tag.strip()))
        query = query.where(kb_articles.c.id.in_(tagged))
    if cursor:
        query = query.where(kb_articles.c.id < decode_cursor(cursor))
    rows = [dict(r._mapping) for r in conn.execute(query.order_by(kb_articles.c.id.desc()).limit(limit + 1))]
    page = rows[:limit]
    return [public(r) for r in page], (encode_cursor(page[-1]["id"]) if len(rows) > limit else None)


def _clean_tags(tags: Sequence[str]) -> list[str]:
    cleaned = list(dict.fromkeys(storable(t.strip()) for t in tags if t.strip()))  # in order, each once
    if len(cleaned) > MAX_TAGS or any(len(t) > 50 for t in cleaned):
        raise ValidationFailed(f"at most {MAX_TAGS} tags of at most 50 characters")
    return cleaned


def storable(text: str) -> str:
    """`text` as both databases store it: PostgreSQL refuses NUL characters, so they become U+FFFD."""
    return text.replace("\x00", "\ufffd")


def _check(conn: Connection, values: dict[str, Any]) -> None:
    for name in ("title", "body"):
        if name in values:
            values[name] = storable(values[name])
    if "title" in values:
        values["title"] = values["title"].strip()
        if not values["title"] or len(values["title"]) > 200:
            raise ValidationFailed("title must be 1 to 200 characters", errors=[{"loc": ["body", "title"]}])
    if "body" in values and not values["body"].strip():
        raise ValidationFailed("body must not be empty", errors=[{"loc": ["body", "body"], "msg": "empty"}])
    category_id = values.get("category_id")
    if (
        category_id is not None
        and conn.execute(select(categories.c.id).where(categories.c.id == category_id)).first() is None
    ):
        raise NotFound(f"category {category_id} does not exist", errors=[{"loc": ["body", "category_id"]}])
    if "status" in values:
        values["status"] = ArticleStatus(values["status"]).value
    if "visibility" in values:
        values["visibility"] = Visibility(values["visibility"]).value
    if "tags" in values:
        values["tags"] = _clean_tags(values["tags"])


def _language(language: str) -> str:
    if language not in LANGUAGES:
        raise ValidationFailed(
            f"language must be one of {', '.join(LANGUAGES)}", errors=[{"loc": ["body", "language"]}]
        )
    return language


def _save_version(tx: Tx, article: dict[str, Any], author_id: int, restored_from: int | None) -> None:
    tx.conn.execute(
        insert(kb_article_versions),
        {
            "article_id": article["id"],
            "version": article["version"],
            "title": article["title"],
            "body": article["body"],
            "status": article["status"],
            "visibility": article["visibility"],
            "category_id": article["category_id"],
            "tags": article["tags"],
            "author_id": author_id,
            "created_at": tx.now,
            "restored_from": restored_from,
        },
    )
    search.index(
        tx.conn, article_id=article["id"], title=article["title"], body=article["body"], language=article["language"]
    )


def _set_tags(tx: Tx, article_id: int, tags: list[str]) -> None:
    tx.conn.execute(delete(kb_article_tags).where(kb_article_tags.c.article_id == article_id))
    if tags:
        tx.conn.execute(insert(kb_article_tags), [{"article_id": article_id, "tag": t} for t in tags])


def _emit(tx: Tx, article: dict[str, Any], event_type: str, data: dict[str, Any]) -> None:
    tx.emit(
        event_type,
        aggregate_type="article",
        aggregate_id=article["id"],
        aggregate_version=article["version"],
        data={"article_id": article["id"], **data},
    )


def _emit_status(tx: Tx, article: dict[str, Any], by_id: int) -> None:
    named = {ArticleStatus.PUBLISHED.value: "kb.article_published", ArticleStatus.ARCHIVED.value: "kb.article_archived"}
    if article["status"] in named:
        data = {"version": article["version"], "title": article["title"], "by_id": by_id}
        _emit(tx, article, named[article["status"]], data)


def create(
    tx: Tx,
    *,
    author: Principal,
    title: str,
    body: str,
    status: str = ArticleStatus.DRAFT.value,
    visibility: str = Visibility.REQUESTERS.value,
    category_id: int | None = None,
    tags: Sequence[str] = (),
    source_ticket_id: int | None = None,
    language: str = SOURCE_LANGUAGE,
    group_id: int | None = None,
) -> dict[str, Any]:
    """Write an article (version 1), an original or (`group_id`: the original's) a translation; emits
    `kb.article_created` (and `kb.article_published` when published)."""
    values: dict[str, Any] = {
        "title": title,
        "body": body,
        "status": status,
        "visibility": visibility,
        "category_id": category_id,
        "tags": list(tags),
    }
    _check(tx.conn, values)
    article = {
        **values,
        "body_html": render.render(values["body"]),
        "version": 1,
        "author_id": author.id,
        "created_at": tx.now,
        "updated_at": tx.now,
        "language": _language(language),
        "group_id": group_id,
    }
    article["id"] = insert_returning_id(tx.conn, insert(kb_articles), article)
    if group_id is None:
        article["group_id"] = article["id"]
        tx.conn.execute(update(kb_articles).where(kb_articles.c.id == article["id"]).values(group_id=article["id"]))
    _set_tags(tx, article["id"], article["tags"])
    _save_version(tx, article, author.id, None)
    created = {
        "title": article["title"],
        "status": article["status"],
        "visibility": article["visibility"],
        "author_id": author.id,
        "source_ticket_id": source_ticket_id,
        "language": article["language"],
        "translation_of": translation_of(article),
    }
    _emit(tx, article, "kb.article_created", created)
    _emit_status(tx, article, author.id)
    return public(article)


def _current(tx: Tx, article_id: int) -> dict[str, Any]:
    row = _row(tx.conn, article_id)
    if row is None:
        raise NotFound(f"article {article_id} not found")
    return row


def edit(
    tx: Tx,
    *,
    editor: Principal,
    article_id: int,
    changes: dict[str, Any],
    version: int | None = None,
    restored_from: int | None = None,
) -> dict[str, Any]:
    """Save changes as a new version (nothing changed: no new version); 409 when `version` is stale."""
    article = _current(tx, article_id)
    if version is not None and version != article["version"]:
        raise StaleVersion(f"article {article_id} is at version {article['version']}, not {version}")
    values = {k: v for k, v in changes.items() if k in FIELDS}
    _check(tx.conn, values)
    changed = [f for f in FIELDS if f in values and values[f] != article[f]]
    if not changed:
        return public(article)
    after = {**article, **{k: values[k] for k in changed}}
    after.update(version=article["version"] + 1, updated_at=tx.now, body_html=render.render(after["body"]))
    columns = {k: after[k] for k in ("title", "body", "body_html", "status", "visibility", "category_id", "tags")}
    stored = tx.conn.execute(
        update(kb_articles)
        .where(kb_articles.c.id == article_id, kb_articles.c.version == article["version"])
        .values(**columns, version=after["version"], updated_at=tx.now)
    )
    if stored.rowcount != 1:
        raise ChangedMeanwhile(f"article {article_id} was changed by someone else; reload it")
    if "tags" in changed:
        _set_tags(tx, article_id, after["tags"])
    _save_version(tx, after, editor.id, restored_from)
    data = {"version": after["version"], "changed": changed, "editor_id": editor.id, "restored_from": restored_from}
    _emit(tx, after, "kb.article_updated", data)
    if "status" in changed:
        _emit_status(tx, after, editor.id)
    return public(after)


def versions(conn: Connection, *, article_id: int) -> list[dict[str, Any]]:
    """Every saved version of an article, newest first."""
    if _row(conn, article_id) is None:
        raise NotFound(f"article {article_id} not found")
    query = select(kb_article_versions).where(kb_article_versions.c.article_id == article_id)
    return [dict(r._mapping) for r in conn.execute(query.order_by(kb_article_versions.c.version.desc()))]


def version(conn: Connection, *, article_id: int, number: int) -> dict[str, Any]:
    """One saved version of an article."""
    row = conn.execute(
        select(kb_article_versions).where(
            kb_article_versions.c.article_id == article_id, kb_article_versions.c.version == number
        )
    ).first()
    if row is None:
        raise NotFound(f"article {article_id} has no version {number}")
    return dict(row._mapping)


def diff(conn: Connection, *, article_id: int, old: int, new: int) -> dict[str, Any]:
    """A unified diff of the title and body between two versions of an article."""
    before, after = version(conn, article_id=article_id, number=old), version(conn, article_id=article_id, number=new)

    def text(v: dict[str, Any]) -> list[str]:
        return [f"# {v['title']}\n", "\n", *(line + "\n" for line in v["body"].splitlines())]

    lines = difflib.unified_diff(text(before), text(after), fromfile=f"version {old}", tofile=f"version {new}")
    return {"article_id": article_id, "from_version": old, "to_version": new, "diff": "".join(lines)}


def restore(tx: Tx, *, editor: Principal, article_id: int, number: int) -> dict[str, Any]:
    """Save an old version's title, body, category and tags as the newest version."""
    _current(tx, article_id)
    old = version(tx.conn, article_id=article_id, number=number)
    changes = {k: old[k] for k in ("title", "body", "category_id", "tags")}
    return edit(tx, editor=editor, article_id=article_id, changes=changes, restored_from=number)


def remove(tx: Tx, *, actor: Principal, article_id: int) -> None:
    """Delete an article with its versions; emits `kb.article_deleted`."""
    article = _current(tx, article_id)
    search.unindex(tx.conn, article_id=article_id)
    tx.conn.execute(delete(kb_articles).where(kb_articles.c.id == article_id))
    _emit(tx, article, "kb.article_deleted", {"title": article["title"], "by_id": actor.id})
