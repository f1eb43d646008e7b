"""Bulk actions: one set of changes applied to many tickets, each ticket its own unit of work with its own result.

A ticket that changed meanwhile, that the actor may not see or that refuses the change is reported in its slot;
the others are still applied. Every unit runs under the request's one event context, so all the events of one
bulk request share its correlation id, and the live UI shows each ticket's change as its unit commits.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from nixflow.domain.envelope import EventContext
from nixflow.domain.errors import DomainError, NotFound, ValidationFailed
from nixflow.domain.macros import Kind
from nixflow.domain.tags import check_allowed, normalise_all
from nixflow.domain.tickets import Status
from nixflow.services import macros, ticket_submit, tickets
from nixflow.services.users import Principal
from nixflow.store import ticket_tags
from nixflow.store.db import Tx
from nixflow.store.writer import Writer

MAX_TICKETS = 1000
# Units in flight at once: enough for the SQLite writer to commit many in one group, few enough that a bulk
# request leaves room in the PostgreSQL writer's pool for everybody else's.
IN_FLIGHT = 32


@dataclass(frozen=True)
class Actions:
    """What to change on every ticket; `changes` holds the fields `tickets.update_fields` takes (priority,
    category_id, assignee_id: None unassigns)."""

    status: Status | None = None
    changes: dict[str, Any] = field(default_factory=dict)
    add_tags: tuple[str, ...] = ()
    remove_tags: tuple[str, ...] = ()
    macro_id: int | None = None  # applied after the other changes, in the same unit of work

    @property
    def empty(self) -> bool:
        return self.status is None and not self.changes and not self.add_tags and not self.remove_tags


@dataclass(frozen=True)
class Outcome:
    """One ticket's result: its new version, or the error that left it unchanged."""

    ticket_id: int
    version: int | None = None
    error: DomainError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def check(conn: Connection, actions: Actions, *, actor: Principal) -> None:
    """Refuse, before any ticket changes, actions no ticket could take: a malformed tag or one off the admins'
    allow list, a macro the actor may not use (ValidationFailed naming `macro_id`)."""
    normalise_all(actions.remove_tags)
    check_allowed(normalise_all(actions.add_tags), ticket_tags.allow_list(conn))
    if actions.macro_id is not None:
        try:
            macros.get(conn, viewer=actor, kind=Kind.MACRO, item_id=actions.macro_id)
        except NotFound:
            message = f"no macro {actions.macro_id} you may use"
            raise ValidationFailed(message, errors=[{"loc": ["body", "actions", "macro_id"], "msg": message}]) from None


def apply_one(tx: Tx, *, actor: Principal, ticket_id: int, actions: Actions, version: int | None) -> int:
    """Apply `actions` to one ticket in this unit of work (the one-submit path); its version afterwards.

    The field changes go first, then the macro (`macros.apply_macro`), which sees them; the expected version is
    checked once, by whichever comes first."""
    if not actions.empty:
        submission = ticket_submit.Submission(
            version=version,
            changes=dict(actions.changes),
            status=actions.status,
            add_tags=actions.add_tags,
            remove_tags=actions.remove_tags,
        )
        ticket_submit.submit(tx, actor=actor, ticket_id=ticket_id, submission=submission, source="api")
        version = None
    if actions.macro_id is not None:
        macros.apply_macro(tx, actor=actor, ticket_id=ticket_id, macro_id=actions.macro_id, expected_version=version)
    return int(tickets.current(tx, ticket_id=ticket_id)["version"])


async def apply(
    writer: Writer,
    *,
    actor: Principal,
    ticket_ids: Sequence[int],
    actions: Actions,
    expected_versions: Mapping[int, int],
    ctx: EventContext,
) -> list[Outcome]:
    """Apply `actions` to each ticket (each id once, in the order given), each in its own unit of work."""
    slots = asyncio.Semaphore(IN_FLIGHT)

    async def one(ticket_id: int) -> Outcome:
        version = expected_versions.get(ticket_id)
        async with slots:
            try:
                after = await writer.run(
                    lambda tx: apply_one(tx, actor=actor, ticket_id=ticket_id, actions=actions, version=version),
                    ctx,
                )
            except DomainError as exc:
                return Outcome(ticket_id, error=exc)
        return Outcome(ticket_id, version=after)

    return list(await asyncio.gather(*(one(t) for t in dict.fromkeys(ticket_ids))))
