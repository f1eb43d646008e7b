"""The search projection: a handler that keeps a ticket's row of the full-text index in step with the log.

It runs inline in the unit of work of the event (its receipt commits with the row), as the reports do, so a
ticket is findable by what was just written the moment the write returns. Each event rewrites the ticket's
row whole from the tables (`store.ticket_index.reindex`): one statement pair, whatever the event changed.
"""

from __future__ import annotations

from sqlalchemy import select

from nixflow.domain.envelope import EventRecord
from nixflow.events.bus import Handler
from nixflow.store.db import Tx
from nixflow.store.tables import tickets
from nixflow.store.ticket_index import reindex

HANDLER_NAME = "search.index"
# What changes a ticket's searchable text: its creation, an edit (title, description, requester), a comment
# or note, a file, a mail held as a note (or discarded); and a requester's new name or address, on every
# ticket they asked.
INDEXED = (
    "ticket.created",
    "ticket.updated",
    "ticket.commented",
    "ticket.attachment_added",
    "ticket.merged",
    "email.unverified",
    "email.unverified_discarded",
    "user.updated",
)
_REQUESTER_TEXT = frozenset({"name", "email"})


def project(tx: Tx, record: EventRecord) -> None:
    """The live handler: rewrite the event's ticket (or the tickets of the renamed user) in the index."""
    if record.type != "user.updated":
        reindex(tx.conn, [int(record.data["ticket_id"])])
    elif _REQUESTER_TEXT & set(record.data["changes"]):
        asked = select(tickets.c.id).where(tickets.c.requester_id == int(record.data["user_id"]))
        reindex(tx.conn, list(tx.conn.execute(asked).scalars()))


def handler() -> Handler:
    """The projection, on the events of `INDEXED` (`nixflow/event_handlers.py` subscribes it)."""
    return Handler(HANDLER_NAME, project)
