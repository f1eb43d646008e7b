"""Ticket rules: statuses, transitions, approval, what a comment does to the status. Pure functions, no I/O."""

from __future__ import annotations

from enum import StrEnum

from nixflow.domain.errors import InvalidTransition
from nixflow.domain.values import Role


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


# Every open state can be resolved in one step; pending is "waiting for the requester", entered from open
# (after a reply); resolved is reopened, or confirmed as closed, which is final. docs/architecture.md says why.
TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.NEW: frozenset({Status.OPEN, Status.RESOLVED}),
    Status.OPEN: frozenset({Status.PENDING, Status.RESOLVED}),
    Status.PENDING: frozenset({Status.OPEN, Status.RESOLVED}),
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


def status_after_comment(current: Status, *, author: Role, internal: bool, automatic: bool) -> Status | None:
    """The status a public comment moves its ticket to, or None: a person's reply on the requester's side
    (requester or watcher; never an auto-reply) to a pending or resolved ticket puts it back to open; staff's
    public reply to a new ticket opens it. Internal notes and the system's own comments change nothing."""
    if internal or automatic:
        return None
    if author in (Role.AGENT, Role.ADMIN):
        return Status.OPEN if current == Status.NEW else None
    if author == Role.REQUESTER and current in (Status.PENDING, Status.RESOLVED):
        return Status.OPEN
    return None
