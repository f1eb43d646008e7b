"""Time travel: a ticket as it stood right after any of its events, rebuilt from its events alone.

The events are the one source: each change event carries what it changed (and the SLA due times it left),
so folding a ticket's events in log order gives its state at every point of its history. The same fold
feeds rule simulation (`automation/simulation.py`).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from nixflow.domain.envelope import EventRecord
from nixflow.domain.errors import NotFound, ValidationFailed
from nixflow.services import tickets, visibility
from nixflow.services.users import Principal
from nixflow.store import event_log

_UUID = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_TIME = (
    "[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[Tt]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
    "(\\.[0-9]{1,6})?([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])"
)
# An event id, or an RFC 3339 time with its offset: what `?as_of=` takes, as the OpenAPI schema says.
AS_OF_PATTERN = f"^({_UUID}|{_TIME})$"
_EVENT_ID = re.compile(f"^{_UUID}$")
_AS_OF = re.compile(AS_OF_PATTERN)

Point = str | datetime
"""A point of a ticket's history: right after an event (its id), or at an instant."""


def parse_point(value: str) -> Point:
    """An event id or an aware time; ValidationFailed for anything else (a day that does not exist too)."""
    if not _AS_OF.match(value):
        raise ValidationFailed("as_of must be an event id or an RFC 3339 time with its offset")
    if _EVENT_ID.match(value):
        return value.lower()
    try:
        return datetime.fromisoformat(value.replace("z", "Z").replace("t", "T"))
    except ValueError:
        raise ValidationFailed(f"as_of: {value!r} is not a time that exists") from None


def _when(value: Any) -> datetime | None:
    return None if value is None else datetime.fromisoformat(str(value))


def _created(record: EventRecord) -> dict[str, Any]:
    data = record.data
    return {
        "id": int(data["ticket_id"]),
        "title": data["title"],
        "description": data["description"],
        "status": data["status"],
        "priority": data["priority"],
        "category_id": data.get("category_id"),
        "requester_id": int(data["requester_id"]),
        "assignee_id": None,
        "approval": data["approval"],
        "escalation_level": 0,
        "version": record.aggregate_version or 1,
        "created_at": record.timestamp,
        "updated_at": record.timestamp,
        "first_response_due": None,
        "resolution_due": None,
        "first_response_at": None,
        "sla_paused_since": None,
        "sla_state": {},
    }


def _status(ticket: dict[str, Any], data: Mapping[str, Any], at: datetime) -> None:
    ticket["status"] = data["new_status"]
    if data["new_status"] == "pending":
        ticket["sla_paused_since"] = at
    elif data["old_status"] == "pending":
        ticket["sla_paused_since"] = None


def _edited(ticket: dict[str, Any], data: Mapping[str, Any], _: datetime) -> None:
    for field, change in data["changes"].items():
        ticket[field] = change["new"]


def _commented(ticket: dict[str, Any], data: Mapping[str, Any], at: datetime) -> None:
    if data.get("first_response"):
        ticket["first_response_at"] = at


def _sla_mark(key: str) -> Callable[[dict[str, Any], Mapping[str, Any], datetime], None]:
    def mark(ticket: dict[str, Any], data: Mapping[str, Any], _: datetime) -> None:
        state = dict(ticket["sla_state"])
        if data["target"] not in state.get(key, []):
            state[key] = [*state.get(key, []), data["target"]]
        ticket["sla_state"] = state

    return mark


def _setter(field: str, key: str, value: Any = None) -> Callable[[dict[str, Any], Mapping[str, Any], datetime], None]:
    def set_field(ticket: dict[str, Any], data: Mapping[str, Any], _: datetime) -> None:
        ticket[field] = data[key] if value is None else value

    return set_field


# What each event type changes; the aggregate version and due times are read from any event that has them.
_CHANGES: dict[str, Callable[[dict[str, Any], Mapping[str, Any], datetime], None]] = {
    "ticket.updated": _edited,
    "ticket.status_changed": _status,
    "ticket.assigned": _setter("assignee_id", "assignee_id"),
    "ticket.priority_changed": _setter("priority", "new_priority"),
    "ticket.category_changed": _setter("category_id", "new_category_id"),
    "ticket.commented": _commented,
    "ticket.approved": _setter("approval", "", "approved"),
    "ticket.rejected": _setter("approval", "", "rejected"),
    "ticket.escalated": _setter("escalation_level", "level"),
    "sla.warning": _sla_mark("warned"),
    "sla.breached": _sla_mark("breached"),
    "sla.met": _sla_mark("met"),
}


def apply(ticket: dict[str, Any] | None, record: EventRecord) -> dict[str, Any] | None:
    """The ticket right after one more of its events (`ticket` is changed in place; None before creation)."""
    if record.type == "ticket.created":
        return _created(record) | _due_times(record.data)
    if ticket is None:
        return None
    change = _CHANGES.get(record.type)
    if change is not None:
        change(ticket, record.data, record.timestamp)
    version = record.aggregate_version
    if version is not None and version > ticket["version"]:
        ticket["version"] = version
        ticket["updated_at"] = record.timestamp
    ticket.update(_due_times(record.data))
    return ticket


def _due_times(data: Mapping[str, Any]) -> dict[str, Any]:
    # Events written before due times were carried leave them as they were.
    return {key: _when(data[key]) for key in ("first_response_due", "resolution_due") if key in data}


def rebuild(records: Iterable[EventRecord]) -> dict[str, Any] | None:
    """A ticket's state after these events of it (log order); None if it was not created among them."""
    ticket: dict[str, Any] | None = None
    for record in records:
        ticket = apply(ticket, record)
    return ticket


def watchers_after(records: Iterable[EventRecord]) -> list[int]:
    """Who watched the ticket after these events of it (log order), in the order they started watching."""
    watching: dict[int, None] = {}
    for record in records:
        if record.type == "ticket.watcher_added":
            watching[int(record.data["watcher_id"])] = None
        elif record.type == "ticket.watcher_removed":
            watching.pop(int(record.data["watcher_id"]), None)
    return list(watching)


def as_of(
    conn: Connection, *, ticket_id: int, viewer: Principal, point: Point
) -> tuple[dict[str, Any], list[EventRecord]]:
    """The ticket right after event `point` (an id), or as it stood at instant `point`; and its events so far.

    NotFound for a ticket the viewer may not see, an event that is not this ticket's (or that the viewer may
    not see: a requester names only public events of their own ticket), and an instant before it existed.
    """
    now = tickets.load(conn, ticket_id=ticket_id, viewer=viewer)
    records = event_log.timeline(conn, "ticket", str(ticket_id))
    if isinstance(point, str):
        index = next((i for i, r in enumerate(records) if r.event_id == point), None)
        if index is None or not visibility.may_see(viewer, records[index], now["requester_id"]):
            raise NotFound(f"event {point} is not in the history of ticket {ticket_id}")
        upto = records[: index + 1]
    else:
        upto = list(itertools.takewhile(lambda r: r.timestamp <= point, records))
    ticket = rebuild(upto)
    if ticket is None:
        raise NotFound(f"ticket {ticket_id} did not exist at {point}")
    return ticket, upto
