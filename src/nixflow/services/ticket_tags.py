"""Tagging tickets (staff and rules) and the admins' allow list: the checks, then the ordinary event path."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection

from nixflow.domain.errors import Conflict, Forbidden
from nixflow.domain.tags import added, check_allowed, check_count, normalise_all
from nixflow.domain.tickets import Status
from nixflow.services import tickets
from nixflow.services.users import Principal, require_admin
from nixflow.store import ticket_tags
from nixflow.store.db import Tx


def change(
    tx: Tx,
    *,
    actor: Principal,
    ticket_id: int,
    add: Sequence[str] = (),
    remove: Sequence[str] = (),
    version: int | None = None,
) -> dict[str, Any]:
    """Put tags on a ticket and take others off (staff); `ticket.tagged` / `ticket.untagged` for what changed.

    Idempotent: a tag it has already, or one it does not have, changes nothing and emits nothing. A tag both
    added and removed is removed. Bad input (a malformed tag, one off the allow list, too many) changes nothing.
    """
    ticket = tickets.current(tx, ticket_id=ticket_id, viewer=actor)
    if not actor.is_staff:
        raise Forbidden("only agents and admins tag tickets")
    tickets.check_version(ticket, version)
    removing = normalise_all(remove)
    adding = [t for t in added(ticket["tags"], normalise_all(add)) if t not in removing]
    check_allowed(adding, ticket_tags.allow_list(tx.conn))
    gone = [t for t in removing if t in ticket["tags"]]
    check_count([t for t in (*ticket["tags"], *adding) if t not in gone])
    if not adding and not gone:
        return ticket
    if ticket["status"] == Status.CLOSED.value:
        raise Conflict(f"ticket {ticket_id} is closed; closed tickets cannot change")
    events: tickets.Changes = []
    if adding:
        events.append(("ticket.tagged", {"tags": adding, "by_id": actor.id}))
    if gone:
        events.append(("ticket.untagged", {"tags": gone, "by_id": actor.id}))
    return tickets.emit_changes(tx, ticket, events)


def known(conn: Connection) -> list[dict[str, Any]]:
    """Every tag in use or allowed, with how many tickets have it, most used first."""
    counts = ticket_tags.counts(conn)
    for tag in ticket_tags.allow_list(conn) or ():
        counts.setdefault(tag, 0)
    return [{"tag": t, "count": n} for t, n in sorted(counts.items(), key=lambda item: (-item[1], item[0]))]


def allow_list(conn: Connection) -> list[str]:
    """The admins' allow list, sorted; empty when any tag is allowed."""
    return sorted(ticket_tags.allow_list(conn) or ())


def set_allow_list(tx: Tx, *, actor: Principal, tags: Sequence[str]) -> list[str]:
    """Replace the allow list (admins); tags already on tickets stay. Emits `workflow.tag_allow_list_changed`."""
    require_admin(actor)
    cleaned = sorted(normalise_all(tags))
    before = allow_list(tx.conn)
    ticket_tags.set_allow_list(tx.conn, cleaned)
    if cleaned != before:
        tx.emit(
            "workflow.tag_allow_list_changed",
            aggregate_type="tag_allow_list",
            aggregate_id="tags",
            data={"tags": cleaned, "previous": before},
        )
    return cleaned
