"""Who may see which event: the one rule shared by timelines, the event API and the WebSocket."""

from __future__ import annotations

from nixflow.domain.values import Role
from nixflow.events.envelope import EventRecord
from nixflow.services.users import Principal

REQUESTER_CATEGORIES = frozenset({"ticket", "sla"})
WATCHER_EVENTS = frozenset({"ticket.watcher_added", "ticket.watcher_removed"})


def is_internal(record: EventRecord) -> bool:
    """Events about internal comments are for staff only."""
    return bool(record.data.get("internal"))


def may_see(viewer: Principal, record: EventRecord, ticket_requester_id: int | None) -> bool:
    """Whether `viewer` may see `record`; `ticket_requester_id` is the requester of its ticket, if any."""
    if viewer.role in (Role.ADMIN, Role.SYSTEM):
        return True
    if viewer.role == Role.AGENT:
        return record.category != "user"
    return (
        record.aggregate_type == "ticket"
        and ticket_requester_id == viewer.id
        and record.category in REQUESTER_CATEGORIES
        and not is_internal(record)
        # Who watches is staff business: the event would also tell a requester which address they CC'd has an
        # account (the answer to adding one does not).
        and record.type not in WATCHER_EVENTS
    )
