"""What readers do with articles, each recorded in the log: view, get suggestions, give feedback, and say an
article solved their problem (before a ticket: deflected; on an open ticket: it is resolved)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from nixflow.domain.envelope import EventContext
from nixflow.domain.errors import Conflict
from nixflow.domain.kb import ArticleStatus, Readable, Visibility, readable, suggestible
from nixflow.domain.tickets import OPEN_STATUSES, Status
from nixflow.domain.values import Role
from nixflow.kb import articles, search, translations
from nixflow.kb.read_ledger import ReadLedger, reader_key
from nixflow.services import tickets
from nixflow.services.users import SYSTEM, Principal
from nixflow.store.db import Database, Tx
from nixflow.store.tables import comments, kb_article_tickets, kb_articles, users
from nixflow.store.writer import Writer

SUGGESTIONS = 5


def role_of(reader: Principal | None) -> Role | None:
    """The reader's role; None for an anonymous reader."""
    return None if reader is None else reader.role


def _emit_about(tx: Tx, article: dict[str, Any], event_type: str, data: dict[str, Any]) -> None:
    tx.emit(
        event_type, aggregate_type="article", aggregate_id=article["id"], data={"article_id": article["id"], **data}
    )


async def view(
    db: Database, writer: Writer, ledger: ReadLedger, *, reader: Principal | None, client: str, article_id: int,
    ctx: EventContext, now: datetime, language: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """An article the reader may see, in `language` if translated into it; `kb.article_viewed` (of the one read)
    once per reader, version and window (`read_ledger`), so reading again or reloading costs no write.
    TooManyRequests past the client's rate."""
    who = reader_key(None if reader is None else reader.id, client)
    ledger.admit(who, now)
    may = readable(role_of(reader))
    article = await db.read(
        lambda conn: translations.in_language(conn, article_id=article_id, language=language, may=may)
    )
    if ledger.first((who, "viewed", article["id"], article["version"]), now):
        viewer_id = None if reader is None else reader.id
        data = {"version": article["version"], "viewer_id": viewer_id}
        await writer.run(lambda tx: _emit_about(tx, article, "kb.article_viewed", data), ctx)
    return article


async def suggest(
    db: Database, writer: Writer, ledger: ReadLedger, *, reader: Principal | None, client: str, query: str,
    limit: int, ctx: EventContext, now: datetime, language: str | None = None,
) -> list[dict[str, Any]]:  # fmt: skip
    """Published articles matching what the reader typed, in their `language` first; `kb.article_suggested` once
    per reader, article version and window, not once per keystroke. TooManyRequests past the client's rate."""
    who = reader_key(None if reader is None else reader.id, client)
    ledger.admit(who, now)

    def read(conn: Connection) -> tuple[list[dict[str, Any]], dict[int, int]]:
        found = search.search(conn, query=query, may=suggestible(role_of(reader)), limit=limit, language=language)
        return found, _versions(conn, [item["id"] for item in found])

    found, versions = await db.read(read)
    new = [
        (rank, item)
        for rank, item in enumerate(found, start=1)
        if ledger.first((who, "suggested", item["id"], versions[item["id"]]), now)
    ]
    if new:
        user_id = None if reader is None else reader.id
        stored = articles.storable(query)[:500]

        def record(tx: Tx) -> None:
            for rank, item in new:
                data = {"version": versions[item["id"]], "query": stored, "rank": rank, "user_id": user_id}
                _emit_about(tx, item, "kb.article_suggested", data)

        await writer.run(record, ctx)
    return found


def _versions(conn: Connection, article_ids: list[int]) -> dict[int, int]:
    if not article_ids:
        return {}
    query = select(kb_articles.c.id, kb_articles.c.version).where(kb_articles.c.id.in_(article_ids))
    return {int(r.id): int(r.version) for r in conn.execute(query)}


def _feedback(
    tx: Tx, article: dict[str, Any], user: Principal, helpful: bool, comment: str | None, ticket_id: int | None
) -> dict[str, Any]:
    data = {
        "version": article["version"],
        "helpful": helpful,
        "comment": comment,
        "user_id": user.id,
        "ticket_id": ticket_id,
    }
    _emit_about(tx, article, "kb.feedback_received", data)
    return {"article_id": article["id"], **data, "created_at": tx.now}


def feedback(
    tx: Tx, *, user: Principal, article_id: int, helpful: bool, comment: str | None, ticket_id: int | None
) -> dict[str, Any]:
    """Record whether an article helped (`kb.feedback_received`); the ticket, if named, must be the user's to see."""
    article = articles.load(tx.conn, article_id=article_id, may=readable(user.role))
    if ticket_id is not None:
        tickets.current(tx, ticket_id=ticket_id, viewer=user)
    text = articles.storable(comment.strip()) if comment else None
    return _feedback(tx, article, user, helpful, text or None, ticket_id)


def _solver(tx: Tx, user: Principal, article_id: int) -> dict[str, Any]:
    return articles.load(tx.conn, article_id=article_id, may=suggestible(user.role))


def deflect(tx: Tx, *, user: Principal, article_id: int, query: str | None) -> dict[str, Any]:
    """The article solved the problem before a ticket was opened: `kb.ticket_deflected` and helpful feedback."""
    article = _solver(tx, user, article_id)
    data = {"version": article["version"], "user_id": user.id, "query": articles.storable(query) if query else None}
    _emit_about(tx, article, "kb.ticket_deflected", data)
    _feedback(tx, article, user, True, None, None)
    return {"article_id": article_id, "version": article["version"], "ticket_id": None, "ticket_status": None}


def resolve_ticket(tx: Tx, *, user: Principal, article_id: int, ticket_id: int) -> dict[str, Any]:
    """The article solved an open ticket: say so on the ticket, resolve it, link the two."""
    article = _solver(tx, user, article_id)
    ticket = tickets.current(tx, ticket_id=ticket_id, viewer=user)
    if Status(ticket["status"]) not in OPEN_STATUSES:
        raise Conflict(f"ticket {ticket_id} is {ticket['status']}; only an open ticket can be solved by an article")
    body = f'Solved by the knowledge-base article "{article["title"]}": /kb/{article_id}'
    tickets.add_comment(tx, actor=user, ticket_id=ticket_id, body=body)
    # Requesters may not resolve tickets themselves: the move is the system's, on their word, in their request
    # (from any open state, in one step).
    after = tickets.transition(tx, actor=SYSTEM, ticket_id=ticket_id, status=Status.RESOLVED, on_behalf_of=user.id)
    link(tx, article_id=article_id, ticket_id=ticket_id, relation="resolved")
    tx.emit(
        "kb.article_resolved_ticket",
        aggregate_type="ticket",
        aggregate_id=ticket_id,
        data={"ticket_id": ticket_id, "article_id": article_id, "version": article["version"], "by_id": user.id},
    )
    _feedback(tx, article, user, True, None, ticket_id)
    return {
        "article_id": article_id,
        "version": article["version"],
        "ticket_id": ticket_id,
        "ticket_status": after["status"],
    }


def link(tx: Tx, *, article_id: int, ticket_id: int, relation: str) -> None:
    """Link an article and a ticket (`source`: written from it; `resolved`: it solved it), once."""
    key = (
        kb_article_tickets.c.article_id == article_id,
        kb_article_tickets.c.ticket_id == ticket_id,
        kb_article_tickets.c.relation == relation,
    )
    if tx.conn.execute(select(kb_article_tickets.c.article_id).where(*key)).first() is None:
        row = {"article_id": article_id, "ticket_id": ticket_id, "relation": relation, "created_at": tx.now}
        tx.conn.execute(insert(kb_article_tickets), row)


def linked_tickets(conn: Connection, *, article_id: int) -> list[dict[str, Any]]:
    """The tickets an article was written from or solved, oldest link first."""
    query = select(kb_article_tickets).where(kb_article_tickets.c.article_id == article_id)
    return [dict(r._mapping) for r in conn.execute(query.order_by(kb_article_tickets.c.created_at))]


def linked_articles(conn: Connection, *, ticket_id: int, may: Readable) -> list[dict[str, Any]]:
    """The articles a ticket was turned into or solved by, as far as the reader may see them."""
    query = (
        select(kb_articles.c.id, kb_articles.c.title, kb_articles.c.status, kb_article_tickets.c.relation)
        .join(kb_article_tickets, kb_article_tickets.c.article_id == kb_articles.c.id)
        .where(kb_article_tickets.c.ticket_id == ticket_id)
        .where(kb_articles.c.status.in_(sorted(may.statuses)), kb_articles.c.visibility.in_(sorted(may.visibilities)))
        .order_by(kb_articles.c.id)
    )
    return [dict(r._mapping) for r in conn.execute(query)]


_STAFF_ROLES = (Role.AGENT.value, Role.ADMIN.value)


def draft_from_ticket(tx: Tx, *, author: Principal, ticket_id: int) -> dict[str, Any]:
    """A draft article from a resolved ticket: its title, the question, and the answer that solved it."""
    ticket = tickets.current(tx, ticket_id=ticket_id, viewer=author)
    if ticket["status"] not in (Status.RESOLVED.value, Status.CLOSED.value):
        raise Conflict(f"ticket {ticket_id} is {ticket['status']}; only a resolved ticket becomes an article")
    answer = tx.conn.execute(
        select(comments.c.body)
        .join(users, users.c.id == comments.c.author_id)
        .where(comments.c.ticket_id == ticket_id, comments.c.internal.is_(False), users.c.role.in_(_STAFF_ROLES))
        .order_by(comments.c.id.desc())
        .limit(1)
    ).scalar()
    question = ticket["description"].strip() or ticket["title"]
    body = f"## Question\n\n{question}\n\n## Answer\n\n{answer or '(write the answer here)'}\n"
    article = articles.create(
        tx,
        author=author,
        title=ticket["title"],
        body=body,
        status=ArticleStatus.DRAFT.value,
        visibility=Visibility.REQUESTERS.value,
        category_id=ticket["category_id"],
        source_ticket_id=ticket_id,
    )
    link(tx, article_id=article["id"], ticket_id=ticket_id, relation="source")
    return article


def resolve_or_deflect(
    tx: Tx, *, user: Principal, article_id: int, ticket_id: int | None, query: str | None
) -> dict[str, Any]:
    """ "This solved my problem": resolve the named open ticket, or record that no ticket was needed."""
    if ticket_id is None:
        return deflect(tx, user=user, article_id=article_id, query=query)
    return resolve_ticket(tx, user=user, article_id=article_id, ticket_id=ticket_id)
