"""Links between tickets (parent/child, related, duplicate-of): staff make and remove them, anyone who may see a
ticket reads its links to tickets they may also see; and the admins' option that open children block their parent."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from nixflow.domain.errors import Conflict, Forbidden, NotFound
from nixflow.domain.relations import StoredLink, seen_from, stored
from nixflow.domain.values import Priority
from nixflow.services import tickets
from nixflow.services.users import Principal, require_admin
from nixflow.store import ticket_links
from nixflow.store.db import Tx

MAX_DEPTH = 50  # how far the cycle check walks down a family of parent links


def links(conn: Connection, *, viewer: Principal, ticket_id: int) -> list[dict[str, Any]]:
    """A ticket's links as it sees them, oldest first; only those to tickets `viewer` may see."""
    tickets.load(conn, ticket_id=ticket_id, viewer=viewer)
    shown = []
    for row in ticket_links.of_ticket(conn, ticket_id):
        kind, other_id = seen_from(ticket_id, row["link"])
        try:
            other = tickets.load(conn, ticket_id=other_id, viewer=viewer)
        except NotFound:
            continue
        shown.append(_read(row, kind, other))
    return shown


def _read(row: dict[str, Any], kind: str, other: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": int(row["id"]),
        "kind": kind,
        "ticket_id": int(other["id"]),
        "title": other["title"],
        "status": other["status"],
        "merged_into": other["merged_into"],
        "created_at": row["created_at"],
    }


def _staff_on(tx: Tx, actor: Principal, ticket_id: int) -> dict[str, Any]:
    ticket = tickets.current(tx, ticket_id=ticket_id, viewer=actor)  # first: a requester learns nothing of others'
    if not actor.is_staff:
        raise Forbidden("only agents and admins link tickets")
    if ticket["merged_into"] is not None:  # a pointer is read-only: its links stay as they were
        tickets.refuse_closed(ticket)
    return ticket


def link(tx: Tx, *, actor: Principal, ticket_id: int, other_id: int, kind: str) -> dict[str, Any]:
    """Link two tickets (staff); `ticket.linked` on both. Idempotent: a link that is there already emits nothing.
    A link to the ticket itself, to a merged ticket, or one that would make a ticket its own ancestor is refused."""
    ticket = _staff_on(tx, actor, ticket_id)
    link = stored(ticket_id, other_id, kind)
    other = tickets.current(tx, ticket_id=other_id, viewer=actor)
    if other["merged_into"] is not None:
        tickets.refuse_closed(other)
    found = ticket_links.find(tx.conn, link)
    if found is not None:
        return _read(found, kind, other)
    if link.kind == "parent" and link.from_id in _descendants(tx.conn, link.to_id):
        raise Conflict(
            f"ticket {link.to_id} is an ancestor of ticket {link.from_id}: the link would make a cycle",
            errors=[{"loc": ["body", "kind"], "msg": "cycle"}],
        )
    link_id = ticket_links.add(tx.conn, link, by_id=actor.id, at=tx.now)
    _emit_both(tx, "ticket.linked", link_id, link, actor, (ticket, other))
    return _read({"id": link_id, "created_at": tx.now}, kind, other)


def unlink(tx: Tx, *, actor: Principal, ticket_id: int, other_id: int, kind: str | None) -> int:
    """Remove the links between two tickets (of `kind` only, when given); `ticket.unlinked` on both for each.
    404 when there is none."""
    ticket = _staff_on(tx, actor, ticket_id)
    gone = 0
    for row in ticket_links.of_ticket(tx.conn, ticket_id):
        seen, other = seen_from(ticket_id, row["link"])
        if other != other_id or kind not in (None, seen):
            continue
        ticket_links.remove(tx.conn, int(row["id"]))
        ends = (ticket, tickets.current(tx, ticket_id=other_id))
        _emit_both(tx, "ticket.unlinked", int(row["id"]), row["link"], actor, ends)
        gone += 1
    if not gone:
        raise NotFound(f"ticket {ticket_id} has no such link to ticket {other_id}")
    return gone


def _emit_both(
    tx: Tx, event_type: str, link_id: int, link: StoredLink, actor: Principal, ends: tuple[dict[str, Any], ...]
) -> None:
    for end in ends:
        kind, other = seen_from(int(end["id"]), link)
        tx.emit(
            event_type,
            aggregate_type="ticket",
            aggregate_id=end["id"],
            priority=Priority(end["priority"]),
            data={"ticket_id": end["id"], "by_id": actor.id, "link_id": link_id, "kind": kind, "other_id": other},
        )


def _descendants(conn: Connection, ticket_id: int) -> set[int]:
    found: set[int] = set()
    level = [ticket_id]
    for _ in range(MAX_DEPTH):
        level = [i for i in ticket_links.children(conn, level) if i not in found]
        if not level:
            break
        found.update(level)
    return found


def options(conn: Connection) -> dict[str, bool]:
    """The admins' link options."""
    return {"block_parent_close": ticket_links.block_parent_close(conn)}


def set_options(tx: Tx, *, actor: Principal, block_parent_close: bool) -> dict[str, bool]:
    """Set whether an open child blocks resolving or closing its parent (admins); `workflow.link_options_changed`."""
    require_admin(actor)
    if ticket_links.block_parent_close(tx.conn) != block_parent_close:
        ticket_links.set_block_parent_close(tx.conn, block_parent_close)
        tx.emit(
            "workflow.link_options_changed",
            aggregate_type="ticket_links",
            aggregate_id="options",
            data={"block_parent_close": block_parent_close, "by_id": actor.id},
        )
    return options(tx.conn)
