"""Starting a category's approval workflow on its new tickets: a consumer of `ticket.created`, after the rules
(so a category a rule set counts), in the same unit of work as the ticket."""

from __future__ import annotations

from nixflow.domain.envelope import EventRecord
from nixflow.events.bus import Handler
from nixflow.services import ticket_workflow
from nixflow.store.db import Tx

STARTS = ("ticket.created",)


def start_by_category(tx: Tx, record: EventRecord) -> None:
    """Start the workflow of the new ticket's category, if it names one."""
    ticket_workflow.start_for_category(tx, ticket_id=int(record.aggregate_id))


def handler() -> Handler:
    return Handler("workflows.start_by_category", start_by_category)
