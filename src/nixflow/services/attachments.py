"""Attachments: files on tickets and comments, kept in the database, typed by their content, and shown only
to whoever may see the comment they belong to."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import magic
from sqlalchemy import Connection, insert, select

from nixflow.domain.errors import Forbidden, NotFound, PayloadTooLarge
from nixflow.domain.values import Priority
from nixflow.services import tickets
from nixflow.services.users import Principal
from nixflow.store.db import Tx, insert_returning_id
from nixflow.store.tables import attachments, comments

SNIFF_BYTES = 64 * 1024
CONTENT_ID_KEPT = 255  # the column's length: a longer `cid:` is clipped (the mail's HTML links by the whole one)
_META = (
    attachments.c.id,
    attachments.c.ticket_id,
    attachments.c.comment_id,
    attachments.c.filename,
    attachments.c.content_type,
    attachments.c.size,
    attachments.c.content_id,
)


def sniff(data: bytes) -> str:
    """The media type of `data`, from its bytes (libmagic), never from what a client or a mail says."""
    try:
        found = magic.from_buffer(data[:SNIFF_BYTES], mime=True)
    except Exception:  # libmagic gives up on some inputs: then it is only bytes
        return "application/octet-stream"
    return str(found or "application/octet-stream")[:127]


def clean_filename(name: str | None) -> str:
    """A file name safe to store and to put in a header: no folders, no control characters."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(c for c in base if c.isprintable() and c not in '"').strip()
    return base[:255] or "attachment"


def add(
    tx: Tx,
    *,
    actor: Principal,
    ticket_id: int,
    filename: str | None,
    data: bytes,
    limit: int,
    comment_id: int | None = None,
    content_id: str | None = None,
    trusted: bool = False,
) -> dict[str, Any]:
    """Attach a file to a ticket (or one of its comments); emits `ticket.attachment_added`.

    `trusted`: the caller (the mail intake) has decided already that `actor` may write on the ticket.
    """
    ticket = tickets.current(tx, ticket_id=ticket_id, viewer=None if trusted else actor)
    internal = False
    if comment_id is not None:
        row = tx.conn.execute(
            select(comments.c.author_id, comments.c.internal).where(
                comments.c.id == comment_id, comments.c.ticket_id == ticket_id
            )
        ).first()
        if row is None or (row.internal and not actor.is_staff and not trusted):
            raise NotFound(f"comment {comment_id} not found on ticket {ticket_id}")
        if not actor.is_staff and not trusted and row.author_id != actor.id:
            raise Forbidden("requesters attach files to their own comments only")
        internal = bool(row.internal)
    if len(data) > limit:
        raise PayloadTooLarge(f"the file is {len(data)} bytes; the limit is {limit}")
    values = {
        "ticket_id": ticket_id,
        "comment_id": comment_id,
        "filename": clean_filename(filename),
        "content_type": sniff(data),
        "size": len(data),
        "data": data,
        "content_id": content_id[:CONTENT_ID_KEPT] if content_id else None,
        "uploaded_by": actor.id,
        "created_at": tx.now,
    }
    values["id"] = insert_returning_id(tx.conn, insert(attachments), values)
    tx.emit(
        "ticket.attachment_added",
        aggregate_type="ticket",
        aggregate_id=ticket_id,
        priority=Priority(ticket["priority"]),
        data={
            "ticket_id": ticket_id,
            "attachment_id": values["id"],
            "comment_id": comment_id,
            "filename": values["filename"],
            "content_type": values["content_type"],
            "size": values["size"],
            "internal": internal,
        },
    )
    return public(values)


def public(row: dict[str, Any]) -> dict[str, Any]:
    """An attachment as the API shows it (`AttachmentRead`)."""
    return {k: row[k] for k in ("id", "filename", "content_type", "size", "comment_id")}


def _visible(viewer: Principal) -> Any:
    """Requesters never see the files of internal notes."""
    query = select(*_META).outerjoin(comments, comments.c.id == attachments.c.comment_id)
    if not viewer.is_staff:
        query = query.where((comments.c.internal.is_(None)) | (comments.c.internal.is_(False)))
    return query


def list_for_ticket(conn: Connection, *, viewer: Principal, ticket_id: int) -> list[dict[str, Any]]:
    """The ticket's files that `viewer` may see, oldest first."""
    tickets.load(conn, ticket_id=ticket_id, viewer=viewer)
    rows = conn.execute(_visible(viewer).where(attachments.c.ticket_id == ticket_id).order_by(attachments.c.id))
    return [public(dict(r._mapping)) for r in rows]


def by_comment(conn: Connection, comment_ids: Iterable[int]) -> dict[int, list[dict[str, Any]]]:
    """The files of each comment (the comments are already filtered for the viewer)."""
    ids = list(comment_ids)
    out: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
    if ids:
        rows = conn.execute(select(*_META).where(attachments.c.comment_id.in_(ids)).order_by(attachments.c.id))
        for r in rows:
            out[int(r.comment_id)].append(public(dict(r._mapping)))
    return out


def load(conn: Connection, *, viewer: Principal, attachment_id: int) -> tuple[dict[str, Any], bytes]:
    """One file and its bytes; NotFound when missing or not `viewer`'s to see (as for another's ticket)."""
    row = conn.execute(
        _visible(viewer).add_columns(attachments.c.data).where(attachments.c.id == attachment_id)
    ).first()
    if row is None:
        raise NotFound(f"attachment {attachment_id} not found")
    try:
        tickets.load(conn, ticket_id=int(row.ticket_id), viewer=viewer)
    except NotFound:
        raise NotFound(f"attachment {attachment_id} not found") from None
    meta = dict(row._mapping)
    return public(meta), bytes(meta["data"])
