"""The right to erasure (issue 28): one person's personal data erased in one unit of work, the log included.

What goes, and why this shape, is "Erasure" in docs/architecture.md. In short: the person's row keeps its id
under a pseudonym; the text they wrote and the conversations of the tickets they asked become `[erased]`; their
files, mail, sign-in records, tokens and sessions, notifications and personal settings are deleted; the events'
payloads are rewritten in place to say the same as the rows (`domain/erasure.py`), and `user.erased` records who
erased whom, when and why, never what. The tickets stay, with their ids, times, states and people's ids, so
reports, time travel and replays go on counting them.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, Text, and_, bindparam, cast, func, or_, select, update

from nixflow.domain.erasure import Erasure
from nixflow.domain.errors import Conflict, Forbidden, NotFound, ValidationFailed
from nixflow.domain.tickets import OPEN_STATUSES
from nixflow.services import users
from nixflow.store import erasure as erased_rows
from nixflow.store.db import Tx
from nixflow.store.tables import (
    SYSTEM_USER_ID,
    attachments,
    comments,
    events,
    inbound_mail,
    mail_quarantine,
    notifications,
    tickets,
)
from nixflow.store.tables import users as users_table

MAX_REASON = 500


def _ids(conn: Connection, query: Any) -> frozenset[int]:
    return frozenset(int(i) for i in conn.execute(query).scalars())


def _refuse(tx: Tx, person: Any, *, actor_id: int | None, confirm: str) -> None:
    """Every reason the erasure cannot happen, checked before anything is written."""
    if person.erased_at is not None:
        raise Conflict(f"user {person.id} was erased already, at {person.erased_at.isoformat()}")
    if person.id == actor_id:
        raise Conflict("you cannot erase yourself: ask another admin")
    users.keep_an_admin_leaving(tx.conn, person._mapping)  # the last active admin, the last break-glass admin
    assigned = sorted(
        _ids(
            tx.conn,
            select(tickets.c.id).where(
                tickets.c.assignee_id == person.id, tickets.c.status.in_([s.value for s in OPEN_STATUSES])
            ),
        )
    )
    if assigned:
        raise Conflict(
            f"user {person.id} has {len(assigned)} open ticket(s) assigned: reassign them first",
            errors=[{"type": "assigned_ticket", "ticket_id": t} for t in assigned[:50]],
        )
    if confirm.strip().lower() != str(person.email).lower():
        # A 409, not a 422: the body is well-formed, it names someone else (as a stale version does).
        raise Conflict(
            "confirm must be the user's email address, typed again: it is not",
            errors=[{"loc": ["body", "confirm"], "msg": "does not match the user's email", "type": "mismatch"}],
        )


def _said_on(conn: Connection, asked: frozenset[int]) -> frozenset[int]:
    """The comments first written on the tickets they asked, wherever a merge has moved them since, and the
    note a merge of one of them wrote on the survivor (the source's title and description)."""
    on_asked = (events.c.aggregate_type == "ticket", events.c.aggregate_id.in_([str(t) for t in asked]))
    merged_away = conn.execute(
        select(events.c.correlation_id, events.c.data).where(*on_asked, events.c.event_type == "ticket.merged")
    ).all()
    merges = [r.correlation_id for r in merged_away if r.data["source_id"] in asked]
    said = conn.execute(
        select(events.c.data).where(
            events.c.event_type == "ticket.commented",
            or_(and_(*on_asked), and_(events.c.aggregate_type == "ticket", events.c.correlation_id.in_(merges))),
        )
    )
    return frozenset(int(data["comment_id"]) for data in said.scalars())


def _gather(conn: Connection, person: Any) -> Erasure:
    """Everything of the person's whose text goes: the tickets they asked, and what is theirs or on those."""
    user_id, email = int(person.id), str(person.email).lower()
    asked = _ids(conn, select(tickets.c.id).where(tickets.c.requester_id == user_id))
    on_asked = tuple(asked)
    said = _said_on(conn, asked) | _ids(
        conn, select(comments.c.id).where(or_(comments.c.author_id == user_id, comments.c.ticket_id.in_(on_asked)))
    )
    files = select(attachments.c.id).where(
        or_(
            attachments.c.uploaded_by == user_id,
            attachments.c.ticket_id.in_(on_asked),
            attachments.c.comment_id.in_(tuple(said)),
        )
    )
    mails = select(inbound_mail.c.id).where(
        or_(
            func.lower(inbound_mail.c.sender) == email,
            inbound_mail.c.ticket_id.in_(on_asked),
            inbound_mail.c.comment_id.in_(tuple(said)),
        )
    )
    held = select(mail_quarantine.c.id).where(
        or_(func.lower(mail_quarantine.c.sender) == email, mail_quarantine.c.ticket_id.in_(on_asked))
    )
    return Erasure(
        user_id=user_id,
        name=str(person.name),
        email=email,
        tickets=asked,
        comments=said,
        attachments=_ids(conn, files),
        mails=_ids(conn, mails),
        quarantined=_ids(conn, held),
    )


def _touched_tickets(conn: Connection, erasure: Erasure) -> list[int]:
    """The tickets whose searchable text the erasure changes: theirs, and those holding their comments or files."""
    found = set(erasure.tickets)
    found |= _ids(conn, select(comments.c.ticket_id).where(comments.c.id.in_(tuple(erasure.comments))))
    found |= _ids(conn, select(attachments.c.ticket_id).where(attachments.c.id.in_(tuple(erasure.attachments))))
    return sorted(found)


def _like(value: str) -> str:
    """A LIKE pattern for `value` as the log's JSON text holds it (escaped as `json.dumps` does), any case."""
    return erased_rows.like_pattern(json.dumps(value.lower())[1:-1])


def _rewrite_events(tx: Tx, erasure: Erasure, touched: list[int]) -> tuple[list[str], frozenset[str]]:
    """Rewrite in place every event holding the person's data: the ids of those rewritten, and of those whose
    words (not only a name or address) were erased. Looked for by what they are about, and by any mention of the
    address or name (a sign-in attempt, a mail, another person's event naming them): a scan, on a rare path."""
    as_text = func.lower(cast(events.c.data, Text))
    notes = select(notifications.c.id).where(
        or_(notifications.c.ticket_id.in_(touched), notifications.c.recipient_id == erasure.user_id)
    )
    told = [str(n) for n in _ids(tx.conn, notes)]  # their titles name the ticket
    mentions = [as_text.like(_like(erasure.email), escape="\\")]
    if erasure.name.strip():
        mentions.append(as_text.like(_like(erasure.name.strip()), escape="\\"))
    about = [
        and_(events.c.aggregate_type == "user", events.c.aggregate_id == str(erasure.user_id)),
        events.c.actor_id == erasure.user_id,
        and_(events.c.aggregate_type == "ticket", events.c.aggregate_id.in_([str(t) for t in touched])),
        and_(events.c.aggregate_type == "email", events.c.aggregate_id.in_([str(m) for m in erasure.mails])),
        and_(events.c.aggregate_type == "notification", events.c.aggregate_id.in_(told)),
        and_(
            events.c.aggregate_type == "email_quarantine",
            events.c.aggregate_id.in_([str(q) for q in erasure.quarantined]),
        ),
    ]
    found = tx.conn.execute(
        select(events.c.seq, events.c.event_id, events.c.event_type, events.c.actor_id, events.c.data, events.c.error)
        .where(or_(*about, *mentions))
        .order_by(events.c.seq)
    ).all()
    changed: list[dict[str, Any]] = []
    rewritten: list[str] = []
    erased_ids: set[str] = set()
    for row in found:
        data, erased = erasure.event_data(row.event_type, row.data, row.actor_id)
        error = None if row.error is None else erasure.text(row.error)
        if erased:
            erased_ids.add(str(row.event_id))
        if data != row.data or error != row.error:
            changed.append({"at": row.seq, "new_data": data, "new_error": error})
            rewritten.append(str(row.event_id))
    if changed:
        tx.conn.execute(
            update(events)
            .where(events.c.seq == bindparam("at"))
            .values(data=bindparam("new_data"), error=bindparam("new_error")),
            changed,
        )
    return rewritten, frozenset(erased_ids)


def erase(tx: Tx, *, user_id: int, confirm: str, reason: str | None = None) -> dict[str, Any]:
    """Erase the person's personal data (admins; `confirm` is their email typed again); what was erased, counted."""
    if user_id == SYSTEM_USER_ID:
        raise Forbidden("the system user cannot be erased")
    # Locked (PostgreSQL): a second erasure of the same person waits, then finds it done (409).
    person = tx.conn.execute(select(users_table).where(users_table.c.id == user_id).with_for_update()).first()
    if person is None:
        raise NotFound(f"user {user_id} not found")
    reason = (reason or "").strip() or None
    if reason is not None and len(reason) > MAX_REASON:
        raise ValidationFailed(f"reason must be at most {MAX_REASON} characters")
    _refuse(tx, person, actor_id=tx.ctx.actor_id, confirm=confirm)
    erasure = _gather(tx.conn, person)
    touched = _touched_tickets(tx.conn, erasure)
    rewritten, erased_events = _rewrite_events(tx, erasure, touched)
    counts = erased_rows.erase_rows(tx.conn, erasure, rewritten=rewritten, erased_events=erased_events, now=tx.now)
    tx.memo.clear()  # people read earlier in this unit of work (notification planning) are out of date
    tx.emit(
        "user.erased",
        aggregate_type="user",
        aggregate_id=user_id,
        data={
            "user_id": user_id,
            "by_id": tx.ctx.actor_id,
            "reason": reason,
            "tickets": touched,
            "attachments": sorted(erasure.attachments),
        },
    )
    return {"user_id": user_id, "erased_at": tx.now, "events_rewritten": len(rewritten), **counts}
