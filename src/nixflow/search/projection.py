"""The search projection: a handler that keeps a ticket's rows of the full-text index in step with the log.

It runs inline in the unit of work of the event (its receipt commits with the rows), as the reports do, so a
ticket is findable by what was just written the moment the write returns. Each event rewrites only the piece
it changed (`store.ticket_index`): a comment rewrites its run of at most 32 comments, never the conversation.
"""

from __future__ import annotations

from sqlalchemy import select

from nixflow.domain.envelope import EventRecord
from nixflow.events.bus import Handler
from nixflow.store.db import Tx
from nixflow.store.tables import tickets
from nixflow.store.ticket_index import Piece, drop_files, index_new, index_pieces, purge_deleted, reindex

HANDLER_NAME = "search.index"
# What changes a ticket's searchable text: its creation, an edit (title, description, requester), a comment
# or note, a file, a mail held as a note (or discarded); a requester's new name or address, on every
# ticket they asked; and an erasure, on the tickets whose text it changed and the files it removed.
INDEXED = (
    "ticket.created",
    "ticket.updated",
    "ticket.commented",
    "ticket.attachment_added",
    "ticket.merged",
    "email.unverified",
    "email.unverified_discarded",
    "user.updated",
    "user.erased",
)
_REQUESTER_TEXT = frozenset({"name", "email"})
# The piece an event rewrites, and the field of its data naming it.
_PIECES: dict[str, tuple[Piece, str]] = {
    "ticket.updated": ("ticket", "ticket_id"),
    "ticket.commented": ("comment", "comment_id"),
    "ticket.attachment_added": ("attachment", "attachment_id"),
    "email.unverified": ("comment", "comment_id"),
    "email.unverified_discarded": ("comment", "comment_id"),
}


def project(tx: Tx, record: EventRecord) -> None:
    """The live handler: rewrite the piece the event changed (a new ticket whole, or only its own fields when this
    unit of work made it; a renamed requester's tickets)."""
    if record.type == "ticket.created" and tx.made("ticket", record.data["ticket_id"]):
        index_new(tx.conn, int(record.data["ticket_id"]))
    elif record.type in ("ticket.created", "ticket.merged"):  # a merge moved pieces between the two tickets
        reindex(tx.conn, [int(record.data["ticket_id"])])
    elif record.type == "user.erased":
        drop_files(tx.conn, [int(i) for i in record.data["attachments"]])
        reindex(tx.conn, [int(i) for i in record.data["tickets"]])
        purge_deleted(tx.conn)
    elif record.type != "user.updated":
        piece, field = _PIECES[record.type]
        index_pieces(tx.conn, piece, [int(record.data[field])])
    elif _REQUESTER_TEXT & set(record.data["changes"]):
        asked = select(tickets.c.id).where(tickets.c.requester_id == int(record.data["user_id"]))
        index_pieces(tx.conn, "ticket", list(tx.conn.execute(asked).scalars()))


def handler() -> Handler:
    """The projection, on the events of `INDEXED` (`nixflow/event_handlers.py` subscribes it)."""
    return Handler(HANDLER_NAME, project)
