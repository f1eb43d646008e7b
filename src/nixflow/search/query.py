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


# The page is ranked first (`ranked`: ids and scores only), then its snippets are made: a snippet per field
# of every matching ticket would cost more than the ranking itself when a common word matches thousands.
_TICKET = "t.id, t.title, t.status, t.priority, t.assignee_id, a.name AS assignee_name, s.comments, s.notes"
_PAGE = (
    "JOIN ranked AS r ON r.id = s.{key} JOIN tickets AS t ON t.id = r.id LEFT JOIN users AS a ON a.id = t.assignee_id"
)


def _sqlite(terms: Sequence[Term], staff: bool, where: list[str]) -> tuple[str, dict[str, Any]]:
    match = " ".join(fts5_term(t) for t in terms)
    if not staff:
        match = "{" + " ".join(PUBLIC_FIELDS) + "} : (" + match + ")"
    snippets = ", ".join(
        f"snippet(ticket_search, {i}, :open, :close, '…', 12) AS {f}_snippet" for i, f in enumerate(FIELDS)
    )
    sql = (
        f"WITH ranked AS (SELECT s.rowid AS id, bm25(ticket_search, {_BM25_WEIGHTS}) AS score "
        "FROM ticket_search AS s JOIN tickets AS t ON t.id = s.rowid "
        f"WHERE {' AND '.join(['ticket_search MATCH :match', *where])} "
        "ORDER BY score, t.id LIMIT :limit OFFSET :offset) "
        f"SELECT {_TICKET}, {snippets}, r.score FROM ticket_search AS s {_PAGE.format(key='rowid')} "
        "WHERE ticket_search MATCH :match ORDER BY r.score, t.id"
    )
    return sql, {"match": match, "open": OPEN, "close": CLOSE}


def _postgres(terms: Sequence[Term], staff: bool, where: list[str]) -> tuple[str, dict[str, Any]]:
    doc = "s.staff_doc" if staff else "s.public_doc"
    snippets = ", ".join(
        f"ts_headline('english', {_PG_TEXT.get(f, 's.' + f)}, q.query, :headline) AS {f}_snippet" for f in FIELDS
    )
    sql = (
        "WITH q AS (SELECT websearch_to_tsquery('english', :words) && to_tsquery('english', :prefixes) AS query), "
        f"ranked AS (SELECT s.ticket_id AS id, ts_rank('{_PG_WEIGHTS}', {doc}, q.query) AS score "
        "FROM q, ticket_search AS s JOIN tickets AS t ON t.id = s.ticket_id "
        f"WHERE {' AND '.join([f'{doc} @@ q.query', *where])} "
        "ORDER BY score DESC, t.id LIMIT :limit OFFSET :offset) "
        f"SELECT {_TICKET}, {snippets}, r.score FROM q, ticket_search AS s {_PAGE.format(key='ticket_id')} "
        "ORDER BY r.score DESC, t.id"
    )
    params = {"words": websearch_phrases(terms, " "), "prefixes": tsquery_prefixes(terms, " & "), "headline": _HEADLINE}
    return sql, params


def _where_matched(row: Any, staff: bool) -> tuple[str, int | None, str]:
    """The first field (in FIELDS order) the search matched, the comment's number there, and its snippet."""
    for field in FIELDS if staff else PUBLIC_FIELDS:
        snippet = getattr(row, f"{field}_snippet") or ""
        marked = _MARKED.search(snippet)
        if marked is None:
            continue
        number = None
        if field in ("comments", "notes"):
            word = marked.group(1).lower()
            parts = getattr(row, field).split(SEPARATOR)
            number = next((i for i, part in enumerate(parts, 1) if word in part.lower()), None)
        # Only the comment that matched, not its neighbours the snippet ran into.
        own = next(part for part in snippet.split(SEPARATOR) if OPEN in part)
        return LABELS.get(field, field), number, own.strip()
    return "title", None, row.title_snippet or ""


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
    build = _postgres if conn.dialect.name == "postgresql" else _sqlite
    sql, extra = build(parsed.terms, viewer.is_staff, where)
    statement = _statement(sql, params)
    values = params | extra | {"limit": limit, "offset": offset}
    rows = fts5_query(lambda: conn.execute(statement, values).all())
    results = []
    for row in rows:
        field, number, snippet = _where_matched(row, viewer.is_staff)
        ticket = {"id": int(row.id), "title": row.title, "status": row.status, "priority": row.priority}
        assignee = {"assignee_id": row.assignee_id, "assignee_name": row.assignee_name}
        match = {"field": field, "comment_number": number, "snippet": highlighted(snippet)}
        results.append({"ticket": ticket | assignee, "match": match, "score": abs(float(row.score))})
    return results
