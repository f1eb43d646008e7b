"""Ticket rules: statuses, transitions, approval. Pure functions, no I/O."""

from __future__ import annotations

from enum import StrEnum

from nixflow.domain.errors import InvalidTransition


class Status(StrEnum):
    NEW = "new"
    OPEN = "open"
    PENDING = "pending"
    RESOLVED = "resolved"
    CLOSED = "closed"


class Approval(StrEnum):
    NOT_REQUIRED = "not_required"
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.NEW: frozenset({Status.OPEN}),
    Status.OPEN: frozenset({Status.PENDING, Status.RESOLVED}),
    Status.PENDING: frozenset({Status.OPEN}),
    Status.RESOLVED: frozenset({Status.CLOSED, Status.OPEN}),
    Status.CLOSED: frozenset(),
}

# What a requester may do to their own ticket: confirm a resolution, or reopen it.
REQUESTER_TRANSITIONS: frozenset[tuple[Status, Status]] = frozenset(
    {(Status.RESOLVED, Status.CLOSED), (Status.RESOLVED, Status.OPEN)}
)

OPEN_STATUSES = (Status.NEW, Status.OPEN, Status.PENDING)


def check_transition(current: Status, target: Status) -> None:
    """Raise InvalidTransition unless `current → target` is allowed."""
    if target not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(TRANSITIONS[current])) or "none (closed is final)"
        raise InvalidTransition(f"cannot move a ticket from '{current}' to '{target}'; allowed: {allowed}")
