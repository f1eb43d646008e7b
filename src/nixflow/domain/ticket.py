"""The ticket aggregate: a ticket's state, changed only by applying its events. Pure, no I/O.

The write path (`services/tickets.py`) builds a command's events, applies them to the ticket it read and
stores the result; time travel (`services/ticket_history.py`) folds the stored events from nothing. Both run
`Ticket.apply`, so the two cannot drift apart. Two columns of the stored row are not ticket state but the
SLA job's bookkeeping, kept by the service beside the aggregate: `sla_paused_seconds` (business seconds,
which need the calendar) and `next_check_at` (when the periodic job next looks).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, Protocol

from nixflow.domain.fields import merged
from nixflow.domain.tags import added


class TicketEvent(Protocol):
    """What applying needs of an event: the log's `EventRecord` and the write path's `Change` both have it."""

    @property
    def type(self) -> str: ...

    @property
    def data(self) -> Mapping[str, Any]: ...

    @property
    def timestamp(self) -> datetime: ...

    @property
    def aggregate_version(self) -> int | None: ...


@dataclasses.dataclass(frozen=True)
class Change:
    """An event the write path is about to emit, applied before it is stored."""

    type: str
    data: Mapping[str, Any]
    timestamp: datetime
    aggregate_version: int | None


DUE_TIMES = ("first_response_due", "resolution_due")


@dataclasses.dataclass(frozen=True)
class Ticket:
    """A ticket's state. Immutable: `apply` returns the next state, so a caller keeps the one before (the
    write path stores the difference, time travel keeps each point)."""

    id: int
    title: str
    description: str
    status: str
    priority: str
    category_id: int | None
    requester_id: int
    assignee_id: int | None
    approval: str
    escalation_level: int
    version: int
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    first_response_due: datetime | None
    resolution_due: datetime | None
    first_response_at: datetime | None
    sla_paused_since: datetime | None
    sla_state: Mapping[str, Any]
    tags: tuple[str, ...] = ()  # stored as a JSON list, and once per tag in `ticket_tags` for the queue's filter
    channel: str | None = None  # where it was opened: web, mail or api (None: before channels were recorded)
    organization_id: int | None = None  # the requester's first organization when it was opened; never changes
    # Custom field values by key (domain/fields.py), a JSON object on the row, once more in `ticket_field_values`.
    fields: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    merged_into: int | None = None  # the survivor it was merged into: a read-only pointer from then on

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Ticket:
        """The aggregate of a stored row (columns that are not ticket state are left out)."""
        plain = {f.name: row[f.name] for f in _FIELDS if f.name not in ("tags", "fields")}
        return cls(**plain, tags=tuple(row["tags"] or ()), fields=dict(row["fields"] or {}))

    def as_row(self) -> dict[str, Any]:
        """The state as the columns of a stored row."""
        return {f.name: getattr(self, f.name) for f in _FIELDS}

    def changed_from(self, before: Ticket) -> dict[str, Any]:
        """The columns whose values differ from `before`."""
        return {f.name: getattr(self, f.name) for f in _FIELDS if getattr(self, f.name) != getattr(before, f.name)}

    @staticmethod
    def start(event: TicketEvent) -> Ticket:
        """A ticket as its `ticket.created` event opens it."""
        data = event.data
        return Ticket(
            id=int(data["ticket_id"]),
            title=data["title"],
            description=data["description"],
            status=data["status"],
            priority=data["priority"],
            category_id=data.get("category_id"),
            requester_id=int(data["requester_id"]),
            assignee_id=None,
            approval=data["approval"],
            escalation_level=0,
            version=event.aggregate_version or 1,
            created_at=event.timestamp,
            updated_at=event.timestamp,
            resolved_at=None,
            first_response_due=None,
            resolution_due=None,
            first_response_at=None,
            sla_paused_since=None,
            sla_state={},
            channel=data.get("channel"),
            organization_id=data.get("organization_id"),
        )._due_times(data)

    def apply(self, event: TicketEvent) -> Ticket:
        """The ticket right after one more of its events; events that change nothing of it leave it as it is.

        Every change event carries the version it made and the SLA due times it left; events written before
        due times were carried leave them as they were.
        """
        change = _CHANGES.get(event.type)
        ticket = self if change is None else dataclasses.replace(self, **change(self, event.data, event.timestamp))
        version = event.aggregate_version
        if version is not None and version > ticket.version:
            ticket = dataclasses.replace(ticket, version=version, updated_at=event.timestamp)
        return ticket._due_times(event.data)

    def apply_all(self, events: Iterable[TicketEvent]) -> Ticket:
        """The ticket after these events, in order."""
        ticket = self
        for event in events:
            ticket = ticket.apply(event)
        return ticket

    def _due_times(self, data: Mapping[str, Any]) -> Ticket:
        moved: dict[str, Any] = {key: _when(data[key]) for key in DUE_TIMES if key in data}
        return dataclasses.replace(self, **moved) if moved else self


_FIELDS = dataclasses.fields(Ticket)


def fold(events: Iterable[TicketEvent]) -> Ticket | None:
    """A ticket's state after these events of it (log order); None if it was not created among them."""
    ticket: Ticket | None = None
    for event in events:
        if event.type == "ticket.created":
            ticket = Ticket.start(event)
        elif ticket is not None:
            ticket = ticket.apply(event)
    return ticket


def _when(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


_Apply = Callable[[Ticket, Mapping[str, Any], datetime], dict[str, Any]]


def _status(ticket: Ticket, data: Mapping[str, Any], at: datetime) -> dict[str, Any]:
    new, old = data["new_status"], data["old_status"]
    changes: dict[str, Any] = {"status": new}
    if new == "pending":
        changes["sla_paused_since"] = at
    elif old == "pending":
        changes["sla_paused_since"] = None
    if new == "resolved":
        changes["resolved_at"] = at
    elif old == "resolved" and new == "open":
        changes["resolved_at"] = None
    return changes


def _edited(ticket: Ticket, data: Mapping[str, Any], _: datetime) -> dict[str, Any]:
    return {field: change["new"] for field, change in data["changes"].items()}


def _commented(ticket: Ticket, data: Mapping[str, Any], at: datetime) -> dict[str, Any]:
    return {"first_response_at": at} if data.get("first_response") else {}


def _tagged(ticket: Ticket, data: Mapping[str, Any], _: datetime) -> dict[str, Any]:
    return {"tags": ticket.tags + added(ticket.tags, data["tags"])}


def _untagged(ticket: Ticket, data: Mapping[str, Any], _: datetime) -> dict[str, Any]:
    return {"tags": tuple(t for t in ticket.tags if t not in data["tags"])}


def _fields_changed(ticket: Ticket, data: Mapping[str, Any], _: datetime) -> dict[str, Any]:
    return {"fields": merged(ticket.fields, data["after"])}


def _merged(ticket: Ticket, data: Mapping[str, Any], _: datetime) -> dict[str, Any]:
    # One event type on both tickets: the source becomes a pointer, the survivor only gains a version.
    return {"merged_into": data["target_id"]} if data["source_id"] == ticket.id else {}


def _sla_mark(key: str) -> _Apply:
    def mark(ticket: Ticket, data: Mapping[str, Any], _: datetime) -> dict[str, Any]:
        marked = list(ticket.sla_state.get(key, []))
        if data["target"] in marked:
            return {}
        return {"sla_state": {**ticket.sla_state, key: [*marked, data["target"]]}}

    return mark


def _setter(field: str, key: str) -> _Apply:
    def set_field(ticket: Ticket, data: Mapping[str, Any], _: datetime) -> dict[str, Any]:
        return {field: data[key]}

    return set_field


def _constant(field: str, value: Any) -> _Apply:
    def set_field(ticket: Ticket, data: Mapping[str, Any], _: datetime) -> dict[str, Any]:
        return {field: value}

    return set_field


# The one place a ticket's state changes: what each event type does to it. A new attribute is one entry here.
_CHANGES: dict[str, _Apply] = {
    "ticket.updated": _edited,
    "ticket.status_changed": _status,
    "ticket.assigned": _setter("assignee_id", "assignee_id"),
    "ticket.priority_changed": _setter("priority", "new_priority"),
    "ticket.category_changed": _setter("category_id", "new_category_id"),
    "ticket.commented": _commented,
    "ticket.approved": _constant("approval", "approved"),
    "ticket.rejected": _constant("approval", "rejected"),
    "ticket.escalated": _setter("escalation_level", "level"),
    "ticket.tagged": _tagged,
    "ticket.untagged": _untagged,
    "ticket.fields_changed": _fields_changed,
    "ticket.merged": _merged,
    "sla.warning": _sla_mark("warned"),
    "sla.breached": _sla_mark("breached"),
    "sla.met": _sla_mark("met"),
}
