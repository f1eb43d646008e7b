"""Mail whose sender proved nothing, held on its ticket as an internal note until an agent decides.

A held note is never a comment of the sender's: it emits no `ticket.commented`, so nobody is mailed about it
(`email.unverified` instead). An agent publishes it (it becomes the sender's public comment, with the events and
mail any comment of theirs causes) or discards it; either way the held note leaves the conversation.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from sqlalchemy import insert, select, update

from nixflow.domain.errors import Conflict, Forbidden, NotFound
from nixflow.services import tickets
from nixflow.services.users import Principal, principal_of
from nixflow.store.db import Tx, insert_returning_id
from nixflow.store.tables import attachments, comments, inbound_mail, users

HELD = "held"
LEFT = ("published", "discarded")  # a held note an agent decided on: kept, out of the conversation


def hold(tx: Tx, *, sender: Principal, ticket_id: int, body: str, ref: dict[str, Any], why: str) -> int:
    """Keep `body` on the ticket as a held internal note by `sender`; emits `email.unverified`. Returns its id."""
    row = {
        "ticket_id": ticket_id,
        "author_id": sender.id,
        "body": body,
        "internal": True,
        "created_at": tx.now,
        "source": "email",
        "unverified": HELD,
    }
    comment_id = int(insert_returning_id(tx.conn, insert(comments), row))
    tx.emit(
        "email.unverified",
        aggregate_type="email",
        aggregate_id=ref["inbound_id"],
        data={**ref, "ticket_id": ticket_id, "comment_id": comment_id, "sender_id": sender.id, "reason": why},
    )
    return comment_id


def _held(tx: Tx, *, actor: Principal, ticket_id: int, comment_id: int) -> dict[str, Any]:
    if not actor.is_staff:
        raise Forbidden("only agents and admins decide on mail from an unverified sender")
    tickets.current(tx, ticket_id=ticket_id, viewer=actor)
    row = tx.conn.execute(
        select(comments).where(comments.c.id == comment_id, comments.c.ticket_id == ticket_id)
    ).first()
    if row is None or row.unverified is None:
        raise NotFound(f"no mail from an unverified sender is held as comment {comment_id} on ticket {ticket_id}")
    if row.unverified != HELD:
        raise Conflict(f"comment {comment_id} was {row.unverified} already")
    return dict(row._mapping)


def _decided(tx: Tx, note: dict[str, Any], *, actor: Principal, outcome: str, published_as: int | None) -> None:
    tx.conn.execute(update(comments).where(comments.c.id == note["id"]).values(unverified=outcome))
    mail = tx.conn.execute(
        select(inbound_mail.c.id, inbound_mail.c.message_id).where(inbound_mail.c.comment_id == note["id"])
    ).first()
    if mail is not None and published_as is not None:
        tx.conn.execute(update(inbound_mail).where(inbound_mail.c.id == mail.id).values(comment_id=published_as))
    tx.emit(
        "email.unverified_published" if outcome == "published" else "email.unverified_discarded",
        aggregate_type="email",
        aggregate_id=note["id"] if mail is None else mail.id,
        data={
            "inbound_id": None if mail is None else mail.id,
            "message_id": None if mail is None else mail.message_id,
            "ticket_id": note["ticket_id"],
            "comment_id": note["id"],
            "published_as": published_as,
            "by_id": actor.id,
        },
    )


def publish(tx: Tx, *, actor: Principal, ticket_id: int, comment_id: int) -> dict[str, Any]:
    """Make a held note the sender's public comment (with its files); returns that comment."""
    note = _held(tx, actor=actor, ticket_id=ticket_id, comment_id=comment_id)
    author = principal_of(tx.conn.execute(select(users).where(users.c.id == note["author_id"])).one())
    # Written as the sender (the author of the events it causes), published by the agent (the cause's actor).
    as_author = tx.child(dataclasses.replace(tx.ctx, actor_id=author.id))
    comment = tickets.add_comment(
        as_author, actor=author, ticket_id=ticket_id, body=str(note["body"]), source="email", trusted=True
    )
    tx.conn.execute(update(attachments).where(attachments.c.comment_id == note["id"]).values(comment_id=comment["id"]))
    _decided(tx, note, actor=actor, outcome="published", published_as=int(comment["id"]))
    return comment


def discard(tx: Tx, *, actor: Principal, ticket_id: int, comment_id: int) -> None:
    """Keep a held note out of the conversation for good (the mail itself stays stored)."""
    note = _held(tx, actor=actor, ticket_id=ticket_id, comment_id=comment_id)
    _decided(tx, note, actor=actor, outcome="discarded", published_as=None)
