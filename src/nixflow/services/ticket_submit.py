"""One submit: a reply plus field and status changes, as one unit of work and one set of events (issue 24)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from nixflow.domain.errors import Forbidden
from nixflow.domain.tickets import Status
from nixflow.services import reply_collision, ticket_fields, ticket_tags, tickets, time_entries
from nixflow.services.users import Principal
from nixflow.store.db import Tx


@dataclass(frozen=True)
class Reply:
    """The comment of a submit."""

    body: str
    internal: bool = False
    seen_comment_id: int | None = None  # refused (409, the new comments) when others commented after it


@dataclass(frozen=True)
class Submission:
    """What one submit asks for; `changes` holds the fields `tickets.update_fields` takes."""

    version: int | None = None
    reply: Reply | None = None
    changes: dict[str, Any] = field(default_factory=dict)
    status: Status | None = None
    add_tags: tuple[str, ...] = ()
    remove_tags: tuple[str, ...] = ()
    fields: Mapping[str, Any] = field(default_factory=dict)  # custom fields, merged (`ticket_fields.change`)
    time: Mapping[str, Any] | None = None  # a time entry (`minutes`, `billable`, `note`), staff only


def submit(tx: Tx, *, actor: Principal, ticket_id: int, submission: Submission, source: str) -> dict[str, Any] | None:
    """Apply `submission` in order: the comment (a staff reply opens a new ticket), the fields, the tags, the time
    entry, then the status unless the ticket is there already. Any error undoes the whole unit, comment included. A
    reply that missed a new comment is refused first, so its writer is shown the comment, not only a new version.
    Returns the comment."""
    if submission.reply is not None:
        seen = submission.reply.seen_comment_id
        reply_collision.check_seen(tx, actor=actor, ticket_id=ticket_id, seen_comment_id=seen)
    tickets.check_version(tickets.current(tx, ticket_id=ticket_id, viewer=actor), submission.version)
    comment = None
    if submission.reply is not None:
        reply = submission.reply
        comment = tickets.add_comment(
            tx, actor=actor, ticket_id=ticket_id, body=reply.body, internal=reply.internal, source=source
        )
    if submission.changes:
        tickets.update_fields(tx, actor=actor, ticket_id=ticket_id, version=None, changes=submission.changes)
    if submission.add_tags or submission.remove_tags:
        ticket_tags.change(tx, actor=actor, ticket_id=ticket_id, add=submission.add_tags, remove=submission.remove_tags)
    if submission.fields:  # before the status: a resolve needs the fields required of agents
        ticket_fields.change(tx, actor=actor, ticket_id=ticket_id, values=submission.fields)
    if submission.time is not None:
        if not actor.is_staff:
            raise Forbidden("only agents and admins log time")
        time_entries.log(tx, actor=actor, ticket_id=ticket_id, **submission.time)
    status = submission.status
    if status is not None and tickets.current(tx, ticket_id=ticket_id)["status"] != status.value:
        tickets.transition(tx, actor=actor, ticket_id=ticket_id, status=status)
    return comment
