"""The search projection: a handler that keeps a ticket's row of the full-text index in step with the log.

It runs inline in the unit of work of the event (its receipt commits with the row), as the reports do, so a
ticket is findable by what was just written the moment the write returns. Each event rewrites the ticket's
row whole from the tables (`store.ticket_index.reindex`): one statement pair, whatever the event changed.
"""

from __future__ import annotations

from nixflow.domain.envelope import EventRecord
from nixflow.events.bus import Handler
from nixflow.store.db import Tx
from nixflow.store.ticket_index import reindex

HANDLER_NAME = "search.index"
# What changes a ticket's searchable text: its creation, an edit (title, description, requester), a comment
# or note, a file.
INDEXED = ("ticket.created", "ticket.updated", "ticket.commented", "ticket.attachment_added")


def project(tx: Tx, record: EventRecord) -> None:
    """The live handler: rewrite the event's ticket in the index."""
    reindex(tx.conn, [int(record.data["ticket_id"])])


def handler() -> Handler:
    """The projection, on the events of `INDEXED` (`nixflow/event_handlers.py` subscribes it)."""
    return Handler(HANDLER_NAME, project)
