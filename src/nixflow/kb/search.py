"""Full-text search over articles: SQLite FTS5 in embedded mode, PostgreSQL full-text search in scale-out mode.

Both rank a title match above a body match (FTS5 `bm25` with a title weight; `ts_rank_cd` over a tsvector
whose title weighs A and body B) and take the same queries: any of the words, "quoted phrases" and `prefix*`
terms, parsed by `domain.kb.parse_query` and rebuilt in each database's syntax, so the caller's text never
reaches a query parser. Words are read in the article's language where the engine can: PostgreSQL stems each
article with its language's configuration (`CONFIGS`) and the query is parsed in every one of them; SQLite's FTS5
stems only English (porter, `kb_search`), so articles in other languages sit in `kb_search_plain` (unicode61,
diacritics removed, no stemming: found by the exact word).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, bindparam, text

from nixflow.domain.kb import Readable, parse_query
from nixflow.domain.kb_languages import LANGUAGES, prefer_language
from nixflow.store.fulltext import CLOSE, OPEN, fts5_query, fts5_term, highlighted, tsquery_prefixes, websearch_phrases

TITLE_WEIGHT = 10.0

# PostgreSQL's text search configuration of each article language (migration 0042 uses the same).
CONFIGS = {"en": "english", "de": "german", "fr": "french", "es": "spanish", "ar": "arabic"}
PLAIN_INDEX = "kb_search_plain"  # SQLite: the articles not in English, unstemmed


def _fts5_select(table: str) -> str:
    return (
        f"SELECT a.id, a.title, a.language, a.group_id, snippet({table}, 1, :open, :close, '…', 16) AS snippet, "
        f"-bm25({table}, {TITLE_WEIGHT}, 1.0) AS score "
        f"FROM {table} JOIN kb_articles AS a ON a.id = {table}.rowid "
        f"WHERE {table} MATCH :match AND a.status IN :statuses AND a.visibility IN :visibilities"
    )


_SQLITE_SEARCH = text(
    f"{_fts5_select('kb_search')} UNION ALL {_fts5_select(PLAIN_INDEX)} ORDER BY score DESC, id LIMIT :limit"
).bindparams(bindparam("statuses", expanding=True), bindparam("visibilities", expanding=True))

_ROW_CONFIG = (
    "CASE a.language "
    + " ".join(f"WHEN '{code}' THEN '{name}'::regconfig" for code, name in CONFIGS.items())
    + " ELSE 'english'::regconfig END"
)
_ANY_LANGUAGE = " || ".join(
    f"websearch_to_tsquery('{name}', :words) || to_tsquery('{name}', :prefixes)" for name in CONFIGS.values()
)
# Weights {D, C, B, A}: a body (B) match counts a tenth of a title (A) match.
_POSTGRES_SEARCH = text(
    f"WITH q AS (SELECT {_ANY_LANGUAGE} AS query) "
    f"SELECT a.id, a.title, a.language, a.group_id, ts_headline({_ROW_CONFIG}, a.body, q.query, :headline) AS snippet, "
    "ts_rank_cd('{0, 0, 0.1, 1}', a.search, q.query) AS score "
    "FROM kb_articles AS a, q "
    "WHERE a.search @@ q.query AND a.status IN :statuses AND a.visibility IN :visibilities "
    "ORDER BY score DESC, a.id LIMIT :limit"
).bindparams(bindparam("statuses", expanding=True), bindparam("visibilities", expanding=True))
_HEADLINE = f'StartSel="{OPEN}", StopSel="{CLOSE}", MaxWords=30, MinWords=12, MaxFragments=2, FragmentDelimiter=" … "'

_SQLITE_UNINDEX = (
    text("DELETE FROM kb_search WHERE rowid = :id"),
    text(f"DELETE FROM {PLAIN_INDEX} WHERE rowid = :id"),
)
_SQLITE_INDEX = {
    True: text("INSERT INTO kb_search (rowid, title, body) VALUES (:id, :title, :body)"),
    False: text(f"INSERT INTO {PLAIN_INDEX} (rowid, title, body) VALUES (:id, :title, :body)"),
}


def index(conn: Connection, *, article_id: int, title: str, body: str, language: str) -> None:
    """Put an article's current text in the index of its language (PostgreSQL: its generated column follows by
    itself)."""
    if conn.dialect.name == "sqlite":
        unindex(conn, article_id=article_id)
        conn.execute(_SQLITE_INDEX[language == "en"], {"id": article_id, "title": title, "body": body})


def unindex(conn: Connection, *, article_id: int) -> None:
    """Take a deleted article out of the index."""
    if conn.dialect.name == "sqlite":
        for statement in _SQLITE_UNINDEX:
            conn.execute(statement, {"id": article_id})


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
