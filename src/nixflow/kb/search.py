"""Full-text search over articles: SQLite FTS5 in embedded mode, PostgreSQL full-text search in scale-out mode.

Both rank a title match above a body match (FTS5 `bm25` with a title weight; `ts_rank_cd` over a tsvector
whose title weighs A and body B), stem English words (porter; the `english` configuration), and take the
same queries: any of the words, "quoted phrases" and `prefix*` terms, parsed by `domain.kb.parse_query` and
rebuilt in each database's syntax, so the caller's text never reaches a query parser.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, bindparam, text

from nixflow.domain.kb import Readable, parse_query
from nixflow.domain.kb_languages import LANGUAGES, prefer_language
from nixflow.store.fulltext import CLOSE, OPEN, fts5_query, fts5_term, highlighted, tsquery_prefixes, websearch_phrases

TITLE_WEIGHT = 10.0

_SQLITE_SEARCH = text(
    "SELECT a.id, a.title, a.language, a.group_id, snippet(kb_search, 1, :open, :close, '…', 16) AS snippet, "
    f"-bm25(kb_search, {TITLE_WEIGHT}, 1.0) AS score "
    "FROM kb_search JOIN kb_articles AS a ON a.id = kb_search.rowid "
    "WHERE kb_search MATCH :match AND a.status IN :statuses AND a.visibility IN :visibilities "
    f"ORDER BY bm25(kb_search, {TITLE_WEIGHT}, 1.0), a.id LIMIT :limit"
).bindparams(bindparam("statuses", expanding=True), bindparam("visibilities", expanding=True))

# Weights {D, C, B, A}: a body (B) match counts a tenth of a title (A) match.
_POSTGRES_SEARCH = text(
    "WITH q AS (SELECT websearch_to_tsquery('english', :words) || to_tsquery('english', :prefixes) AS query) "
    "SELECT a.id, a.title, a.language, a.group_id, ts_headline('english', a.body, q.query, :headline) AS snippet, "
    "ts_rank_cd('{0, 0, 0.1, 1}', a.search, q.query) AS score "
    "FROM kb_articles AS a, q "
    "WHERE a.search @@ q.query AND a.status IN :statuses AND a.visibility IN :visibilities "
    "ORDER BY score DESC, a.id LIMIT :limit"
).bindparams(bindparam("statuses", expanding=True), bindparam("visibilities", expanding=True))
_HEADLINE = f'StartSel="{OPEN}", StopSel="{CLOSE}", MaxWords=30, MinWords=12, MaxFragments=2, FragmentDelimiter=" … "'

_SQLITE_UNINDEX = text("DELETE FROM kb_search WHERE rowid = :id")
_SQLITE_INDEX = text("INSERT INTO kb_search (rowid, title, body) VALUES (:id, :title, :body)")


def index(conn: Connection, *, article_id: int, title: str, body: str) -> None:
    """Put an article's current text in the index (PostgreSQL: its generated column follows by itself)."""
    if conn.dialect.name == "sqlite":
        conn.execute(_SQLITE_UNINDEX, {"id": article_id})
        conn.execute(_SQLITE_INDEX, {"id": article_id, "title": title, "body": body})


def unindex(conn: Connection, *, article_id: int) -> None:
    """Take a deleted article out of the index."""
    if conn.dialect.name == "sqlite":
        conn.execute(_SQLITE_UNINDEX, {"id": article_id})


def search(
    conn: Connection, *, query: str, may: Readable, limit: int, language: str | None = None
) -> list[dict[str, Any]]:
    """Articles matching `query` that the reader `may` see, best first, one per group of translations (the one in
    `language` where it matches), those in `language` first: `{id, title, language, snippet, score}`.

    `snippet` is HTML: the body's text escaped, with the matched words in `<mark>`.
    """
    terms = parse_query(query)
    if not terms:
        return []
    params: dict[str, Any] = {
        "statuses": sorted(s.value for s in may.statuses),
        "visibilities": sorted(v.value for v in may.visibilities),
        "limit": limit * len(LANGUAGES),  # a group has one article per language: enough for `limit` groups
    }
    if conn.dialect.name == "postgresql":
        params.update(
            words=websearch_phrases(terms, " or "), prefixes=tsquery_prefixes(terms, " | "), headline=_HEADLINE
        )
        rows = conn.execute(_POSTGRES_SEARCH, params).all()
    else:
        params.update(match=" OR ".join(fts5_term(t) for t in terms), open=OPEN, close=CLOSE)
        rows = fts5_query(lambda: conn.execute(_SQLITE_SEARCH, params).all())
    hits: list[dict[str, Any]] = [
        {"id": int(r.id), "title": r.title, "language": r.language, "group_id": r.group_id,
         "snippet": highlighted(r.snippet), "score": float(r.score)}
        for r in rows
    ]  # fmt: skip
    return prefer_language(hits, language, limit)
