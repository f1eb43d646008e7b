"""Who may see which event, and how much of it: the one rule shared by timelines, the event API and the WebSocket."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nixflow.domain.envelope import EventRecord
from nixflow.domain.values import Role
from nixflow.domain.visibility import may_see_ticket
from nixflow.services.users import Principal

# A requester follows the conversation and the status of their ticket; rules, SLA clocks, routing and
# approval bookkeeping are the staff's business. For each event type they see, the data fields they see.
REQUESTER_FIELDS: dict[str, tuple[str, ...]] = {
    "ticket.created": ("ticket_id", "title", "description", "status", "requester_id", "category_id"),
    "ticket.commented": ("ticket_id", "comment_id", "author_id", "body", "internal"),
    "ticket.status_changed": ("ticket_id", "old_status", "new_status"),
    "ticket.attachment_added": (
        "ticket_id",
        "attachment_id",
        "comment_id",
        "filename",
        "content_type",
        "size",
        "internal",
    ),
    "ticket.fields_changed": ("ticket_id", "before", "after"),
}
# Custom field values inside these data fields: a requester sees the keys the event names `requester_visible`.
_FIELD_VALUES = ("fields", "before", "after")
# Who did it is shown only when a person did it directly, not when a rule or a timer acted on their behalf.
PERSON_SOURCES = frozenset({"api", "email", "cli"})


@dataclass(frozen=True)
class Audience:
    """Who besides staff sees a ticket's public side: its requester, and the colleagues its organization shares
    it with (`sharers`: of the people asked about)."""

    requester_id: int
    sharers: frozenset[int] = frozenset()


def is_internal(record: EventRecord) -> bool:
    """Events about internal comments are for staff only."""
    return bool(record.data.get("internal"))


def is_personal(record: EventRecord) -> bool:
    """A personal reply or macro: its owner's alone, whatever their role."""
    return record.category == "macro" and record.data.get("scope") == "personal"


def may_see(viewer: Principal, record: EventRecord, audience: Audience | None) -> bool:
    """Whether `viewer` may see `record`; `audience` is who sees its ticket, if it is about one."""
    if record.aggregate_type == "ticket":
        mine = audience is not None and audience.requester_id == viewer.id
        shared = audience is not None and viewer.id in audience.sharers
        return may_see_ticket(viewer.role, requester=mine, shared=lambda: shared, internal=is_internal(record)) and (
            viewer.is_staff or (record.type in REQUESTER_FIELDS and not _staff_fields_only(record))
        )
    if is_personal(record):
        return record.actor_id == viewer.id  # a personal reply or macro is its owner's alone
    # Not about a ticket: accounts are the admins' business (and NixFlow's), the rest the staff's.
    return viewer.is_admin if record.category == "user" else viewer.is_staff


def _staff_fields_only(record: EventRecord) -> bool:
    """A change of custom fields requesters may not see, none else."""
    return record.type == "ticket.fields_changed" and not record.data.get("requester_visible")


def _requester_data(record: EventRecord) -> dict[str, Any]:
    fields = REQUESTER_FIELDS.get(record.type, ())
    shown = set(record.data.get("requester_visible", ()))
    data = {k: v for k, v in record.data.items() if k in fields}
    for key in _FIELD_VALUES:
        if key in data:
            data[key] = {k: v for k, v in data[key].items() if k in shown}
    return data


def by_person(record: EventRecord) -> bool:
    """Whether a person made this change themselves (not a rule, a timer or another automatic reaction)."""
    return record.rule_id is None and record.metadata.get("source") in PERSON_SOURCES


def envelope_for(viewer: Principal, record: EventRecord) -> dict[str, Any]:
    """The event as `viewer` sees it (one `may_see` allows): staff whole, a requester without the internals."""
    envelope = record.envelope()
    if viewer.role != Role.REQUESTER:
        return envelope
    person = by_person(record)
    metadata = {
        "correlation_id": record.correlation_id,
        "causation_id": None,  # what caused it (a rule, an SLA timer) is internal
        "source": record.metadata.get("source") if person else "nixflow",
        "version": record.metadata.get("version", 1),
        "actor_id": record.actor_id if person else None,
        "aggregate_version": record.aggregate_version,
    }
    return envelope | {"data": _requester_data(record), "metadata": metadata}
