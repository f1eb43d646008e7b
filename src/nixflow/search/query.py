"""Ranked ticket search: FTS5 `bm25` on SQLite, `ts_rank` on PostgreSQL, over the index of `store.ticket_index`.

Every word must match somewhere in the ticket (AND); a title match weighs most, then the description, then
the conversation, then who asked. A requester searches the public side of their own tickets (as the ticket
API shows them), never internal notes; staff search everything.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, TextClause, bindparam, text

from nixflow.domain.errors import Forbidden
from nixflow.domain.kb import Term
from nixflow.domain.organizations import name_key
from nixflow.domain.ticket_search import Filters, parse_ticket_query
from nixflow.services.users import Principal
from nixflow.store.fulltext import CLOSE, OPEN, fts5_query, fts5_term, highlighted, tsquery_prefixes, websearch_phrases
from nixflow.store.organizations import SHARING_SQL
from nixflow.store.ticket_index import FIELDS, SEPARATOR

# What each index column is called in a result: the field where the search matched.
LABELS = {"comments": "comment", "notes": "note", "attachments": "attachment"}
PUBLIC_FIELDS = tuple(f for f in FIELDS if f != "notes")
_BM25_WEIGHTS = "10.0, 4.0, 1.0, 1.0, 1.0, 0.5"  # in FIELDS order
_PG_WEIGHTS = "{0.05, 0.2, 0.4, 1.0}"  # D (requester), C (conversation), B (description), A (title)
# File names are searched by their words on PostgreSQL (its parser keeps `invoice.pdf` whole), so shown so too.
_PG_TEXT = {"attachments": "regexp_replace(s.attachments, '[^[:alnum:]]+', ' ', 'g')"}
_HEADLINE = f'StartSel="{OPEN}", StopSel="{CLOSE}", MaxWords=24, MinWords=8, MaxFragments=1'
_WHOLE = f'StartSel="{OPEN}", StopSel="{CLOSE}", HighlightAll=true'
# A run's comments are marked whole, then cut to the words around the first mark of the first comment matching.
_RUNS = ("comments", "notes")
_WORDS_BEFORE, _WORDS = 4, 12
_MARKED = re.compile(f"{OPEN}(.*?){CLOSE}", re.DOTALL)


def _scope(viewer: Principal, filters: Filters) -> tuple[list[str], dict[str, Any]]:
    """The WHERE clauses (on `t`, the tickets) for who may see what and the filters, with their parameters."""
    where: list[str] = []
    params: dict[str, Any] = {"viewer": viewer.id}
    if not viewer.is_staff:
        # As the ticket API: a requester sees their own tickets, and those their organization shares with them.
        where.append(f"(t.requester_id = :viewer OR t.organization_id IN ({SHARING_SQL}))")
        params["sharer"] = viewer.id
    if filters.statuses is not None:
        where.append("t.status IN :statuses")
        params["statuses"] = sorted(s.value for s in filters.statuses)
    if filters.priority is not None:
        where.append("t.priority = :priority")
        params["priority"] = filters.priority.value
    if filters.assignee == "me":
        where.append("t.assignee_id = :viewer")
    elif filters.assignee == "none":
        where.append("t.assignee_id IS NULL")
    elif filters.assignee is not None:
        where.append("t.assignee_id IN (SELECT id FROM users WHERE lower(email) = :assignee)")
        params["assignee"] = filters.assignee
    if filters.category is not None:
        where.append("t.category_id IN (SELECT id FROM categories WHERE lower(name) = lower(:category))")
        params["category"] = filters.category
    if filters.requester is not None:
        where.append("t.requester_id IN (SELECT id FROM users WHERE lower(email) = :requester)")
        params["requester"] = filters.requester
    if filters.tag is not None:
        if not viewer.is_staff:  # tags are internal routing: as `GET /api/tickets?tag=`, not a requester's filter
            raise Forbidden("the tag filter is for staff")
        where.append("t.id IN (SELECT ticket_id FROM ticket_tags WHERE tag = :tag)")
        params["tag"] = filters.tag
    if filters.organization is not None:
        clause, values = organization_clause(filters.organization)
        where.append(clause)
        params |= values
    return where, params


def organization_clause(name: str) -> tuple[str, dict[str, Any]]:
    """The condition on `t` (the tickets) and its parameters for `org:<name>`: tickets opened under the
    organization of that name (any case); an unknown name matches nothing."""
    return "t.organization_id IN (SELECT id FROM organizations WHERE name_key = :org)", {"org": name_key(name)}


# The page is ranked first (`ranked`: ids and summed scores of their matching pieces), then its snippets are
# made from the page's pieces only: a snippet per matching piece would cost more than the ranking itself when a
# common word matches thousands. Every term must match some piece of the ticket (`_every_term`).
_TICKET = "t.id, t.title, t.status, t.priority, t.assignee_id, a.name AS assignee_name"
_PAGE = (
    "SELECT {ticket}, r.score FROM ranked AS r JOIN tickets AS t ON t.id = r.id "
    "LEFT JOIN users AS a ON a.id = t.assignee_id ORDER BY r.score{desc}, t.id"
)
_RANKED = (
    "ranked AS (SELECT h.id, sum(h.score) AS score FROM hits AS h JOIN tickets AS t ON t.id = h.id "
    "WHERE {where} GROUP BY h.id ORDER BY score{desc}, h.id LIMIT :limit OFFSET :offset)"
)


def _every_term(matches: Sequence[str]) -> list[str]:
    """A condition per term (beyond the first: one term's pieces are the hits) that it matches a ticket's piece."""
    return [f"h.id IN (SELECT ticket_id FROM ticket_search AS s WHERE {m})" for m in matches[1:]]


def _sqlite(terms: Sequence[Term], staff: bool, where: list[str]) -> tuple[str, dict[str, Any]]:
    columns = "" if staff else "{" + " ".join(PUBLIC_FIELDS) + "} : "
    params = {f"m{i}": f"{columns}({fts5_term(t)})" for i, t in enumerate(terms)}
    params["match"] = " OR ".join(f"({m})" for m in params.values())
    matches = ["ticket_search MATCH :match", *(f"ticket_search MATCH :m{i}" for i in range(len(terms)))]
    # MATERIALIZED: `bm25` must run in the query of its MATCH, which flattening into `ranked` would undo.
    score = f"bm25(ticket_search, {_BM25_WEIGHTS})"
    hits = f"hits AS MATERIALIZED (SELECT s.ticket_id AS id, {score} AS score FROM ticket_search AS s "
    ranked = _RANKED.format(where=" AND ".join(["1 = 1", *_every_term(matches[1:]), *where]), desc="")
    sql = f"WITH {hits} WHERE {matches[0]}), {ranked} {_PAGE.format(ticket=_TICKET, desc='')}"
    return sql, params


def _sqlite_snippets() -> str:
    snippets = ", ".join(
        f"highlight(ticket_search, {i}, :open, :close) AS {f}_snippet"
        if f in _RUNS
        else f"snippet(ticket_search, {i}, :open, :close, '…', 12) AS {f}_snippet"
        for i, f in enumerate(FIELDS)
    )
    ids = "s.ticket_id, s.comment_ids, s.note_ids"
    return f"SELECT {ids}, {snippets} FROM ticket_search AS s WHERE ticket_search MATCH :match"


def _tsquery(i: int, term: Term) -> tuple[str, dict[str, str]]:
    if term.prefix:
        return f"to_tsquery('english', :p{i})", {f"p{i}": tsquery_prefixes([term], "")}
    return f"websearch_to_tsquery('english', :w{i})", {f"w{i}": websearch_phrases([term], "")}


def _tsqueries(terms: Sequence[Term]) -> tuple[list[str], dict[str, Any]]:
    """A tsquery expression per term, and their parameters."""
    queries: list[str] = []
    params: dict[str, Any] = {}
    for i, term in enumerate(terms):
        query, values = _tsquery(i, term)
        queries.append(query)
        params |= values
    return queries, params


def _postgres(terms: Sequence[Term], staff: bool, where: list[str]) -> tuple[str, dict[str, Any]]:
    doc = "s.staff_doc" if staff else "s.public_doc"
    queries, params = _tsqueries(terms)
    # A term the parser drops (a stop word the domain's list lacks) asks for nothing rather than excluding all.
    conditions = _every_term([f"{doc} @@ {q}" for q in queries])
    every = [f"(numnode({q}) = 0 OR {c})" for q, c in zip(queries[1:], conditions, strict=True)]
    hits = (
        f"hits AS (SELECT s.ticket_id AS id, ts_rank('{_PG_WEIGHTS}', {doc}, q.query) AS score "
        f"FROM q, ticket_search AS s WHERE {doc} @@ q.query)"
    )
    ranked = _RANKED.format(where=" AND ".join(["1 = 1", *every, *where]), desc=" DESC")
    page = _PAGE.format(ticket=_TICKET, desc=" DESC")
    sql = f"WITH q AS (SELECT {' || '.join(queries)} AS query), {hits}, {ranked} {page}"
    return sql, params


def _postgres_snippets(terms: Sequence[Term], staff: bool) -> str:
    doc = "s.staff_doc" if staff else "s.public_doc"
    query = " || ".join(_tsqueries(terms)[0])
    snippets = ", ".join(
        f"ts_headline('english', {_PG_TEXT.get(f, 's.' + f)}, q.query, {':whole' if f in _RUNS else ':headline'}) "
        f"AS {f}_snippet"
        for f in FIELDS
    )
    pieces = f"(SELECT {query} AS query) AS q, ticket_search AS s"
    return f"SELECT s.ticket_id, s.comment_ids, s.note_ids, {snippets} FROM {pieces} WHERE {doc} @@ q.query"


def _around_mark(text: str) -> str:
    """The words of `text` around its first mark (to the mark's end), as FTS5's `snippet` cuts them."""
    words = text.split()
    first = next(i for i, word in enumerate(words) if OPEN in word)
    last = next((i for i, word in enumerate(words[first:], first) if CLOSE in word), first)
    start = max(0, first - _WORDS_BEFORE)
    end = max(last + 1, start + _WORDS)
    return ("…" if start else "") + " ".join(words[start:end]) + ("…" if end < len(words) else "")


def _in_run(row: Any, field: str, marked: str) -> tuple[int, str]:
    """The first comment (or note) of a run whose text has a mark: its id, and the words around the mark."""
    parts = marked.split(SEPARATOR)
    place = next(i for i, part in enumerate(parts) if OPEN in part)
    ids = row.comment_ids if field == "comments" else row.note_ids
    return int(ids.split()[place]), _around_mark(parts[place])


def _where_matched(rows: Sequence[Any], staff: bool) -> tuple[str, int | None, str]:
    """The first field (in FIELDS order; in a comment's order among comments) the search matched, and its snippet."""
    fields = FIELDS if staff else PUBLIC_FIELDS
    best: tuple[int, int, str, int | None, str] | None = None
    for row in rows:
        for rank, field in enumerate(fields):
            snippet = getattr(row, f"{field}_snippet") or ""
            if _MARKED.search(snippet) is not None:
                comment_id, snippet = _in_run(row, field, snippet) if field in _RUNS else (None, snippet)
                candidate = (rank, comment_id or 0, field, comment_id, snippet)
                best = candidate if best is None else min(best, candidate)
                break
    if best is None:
        return "title", None, ""
    _, _, field, comment_id, snippet = best
    return field, comment_id if field in ("comments", "notes") else None, snippet.strip()


def _comment_numbers(conn: Connection, comment_ids: Sequence[int]) -> dict[int, int]:
    """Each comment's place among its ticket's comments (or its notes), counted from 1 in order."""
    sql = text(
        "SELECT c.id, (SELECT count(*) FROM comments AS o WHERE o.ticket_id = c.ticket_id "
        "AND o.internal = c.internal AND coalesce(o.unverified, '') <> 'discarded' AND o.id <= c.id) AS number "
        "FROM comments AS c WHERE c.id IN :ids"
    ).bindparams(bindparam("ids", expanding=True))
    return {int(r.id): int(r.number) for r in conn.execute(sql, {"ids": list(comment_ids)})} if comment_ids else {}


_TICKET_KEYS = ("id", "title", "status", "priority", "assignee_id", "assignee_name")


def _statement(sql: str, params: dict[str, Any]) -> TextClause:
    """The statement of `sql`, its status list (when filtered by status) expanded as an IN list."""
    statement = text(sql)
    return statement.bindparams(bindparam("statuses", expanding=True)) if "statuses" in params else statement


def _filtered(
    conn: Connection, where: list[str], params: dict[str, Any], *, limit: int, offset: int
) -> list[dict[str, Any]]:
    """Filters without words (`status:open tag:vpn`): the tickets they leave, last changed first."""
    sql = (
        "SELECT t.id, t.title, t.status, t.priority, t.assignee_id, a.name AS assignee_name FROM tickets AS t "
        f"LEFT JOIN users AS a ON a.id = t.assignee_id WHERE {' AND '.join(where or ['1 = 1'])} "
        "ORDER BY t.updated_at DESC, t.id DESC LIMIT :limit OFFSET :offset"
    )
    rows = conn.execute(_statement(sql, params), params | {"limit": limit, "offset": offset}).all()
    return [
        {
            "ticket": {k: getattr(row, k) for k in _TICKET_KEYS},
            "match": {"field": "title", "comment_number": None, "snippet": highlighted(row.title)},
            "score": 0.0,
        }
        for row in rows
    ]


def search(conn: Connection, *, viewer: Principal, query: str, limit: int, offset: int = 0) -> list[dict[str, Any]]:
    """Tickets `viewer` may see matching `query`, best first, each with where it matched and a safe snippet."""
    parsed = parse_ticket_query(query)
    if not parsed.terms and parsed.filters == Filters():
        return []
    where, params = _scope(viewer, parsed.filters)
    if not parsed.terms:
        return _filtered(conn, where, params, limit=limit, offset=offset)
    postgres = conn.dialect.name == "postgresql"
    sql, extra = (_postgres if postgres else _sqlite)(parsed.terms, viewer.is_staff, where)
    values = params | extra | {"limit": limit, "offset": offset}
    page = fts5_query(lambda: conn.execute(_statement(sql, params), values).all())
    if not page:
        return []
    pieces_sql = _postgres_snippets(parsed.terms, viewer.is_staff) if postgres else _sqlite_snippets()
    pieces = text(f"{pieces_sql} AND s.ticket_id IN :page").bindparams(bindparam("page", expanding=True))
    marks = {"open": OPEN, "close": CLOSE, "headline": _HEADLINE, "whole": _WHOLE}
    matched = conn.execute(pieces, extra | marks | {"page": [row.id for row in page]}).all()
    by_ticket: dict[int, list[Any]] = {}
    for piece in matched:
        by_ticket.setdefault(int(piece.ticket_id), []).append(piece)
    where_matched = {row.id: _where_matched(by_ticket.get(int(row.id), []), viewer.is_staff) for row in page}
    numbers = _comment_numbers(conn, [n for _, n, _ in where_matched.values() if n is not None])
    results = []
    for row in page:
        field, comment_id, snippet = where_matched[row.id]
        ticket = {"id": int(row.id), "title": row.title, "status": row.status, "priority": row.priority}
        assignee = {"assignee_id": row.assignee_id, "assignee_name": row.assignee_name}
        number = None if comment_id is None else numbers.get(int(comment_id))
        shown = highlighted(snippet or row.title)
        match = {"field": LABELS.get(field, field), "comment_number": number, "snippet": shown}
        results.append({"ticket": ticket | assignee, "match": match, "score": abs(float(row.score))})
    return results
