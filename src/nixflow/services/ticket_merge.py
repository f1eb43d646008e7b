"""Merging a ticket into another, and splitting a comment off into a ticket of its own.

Merge B into A: B's comments, files and watchers move to A (each move an event on A), B's requester watches A,
B's own request (title and description) becomes an internal note on A, and B becomes a closed, read-only pointer
to A (`ticket.merged` on both, `Ticket.merged_into` on B). There is no undo: docs/architecture.md "Merge, split
and link" says why.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from nixflow.domain.errors import Conflict, Forbidden, NotFound
from nixflow.domain.tickets import Status
from nixflow.domain.values import Priority
from nixflow.services import ticket_links, tickets, time_entries
from nixflow.services.users import Principal, principal_of
from nixflow.store import workflows as workflow_rows
from nixflow.store.db import Tx
from nixflow.store.tables import attachments, comments, ticket_watchers, users
from nixflow.store.tables import tickets as tickets_table

CANDIDATES = 20


def candidates(conn: Connection, ticket: Mapping[str, Any]) -> list[dict[str, Any]]:
    """What the ticket page suggests to merge into or link to: its requester's other tickets that are not closed,
    newest first."""
    query = (
        select(tickets_table.c.id, tickets_table.c.title)
        .where(
            tickets_table.c.requester_id == ticket["requester_id"],
            tickets_table.c.id != ticket["id"],
            tickets_table.c.status != Status.CLOSED.value,
        )
        .order_by(tickets_table.c.id.desc())
        .limit(CANDIDATES)
    )
    return [dict(r._mapping) for r in conn.execute(query)]


def _staff_ticket(tx: Tx, actor: Principal, ticket_id: int) -> dict[str, Any]:
    ticket = tickets.current(tx, ticket_id=ticket_id, viewer=actor)  # first: a requester learns nothing of others'
    if not actor.is_staff:
        raise Forbidden("only agents and admins merge and split tickets")
    if ticket["status"] == Status.CLOSED.value:
        tickets.refuse_closed(ticket)
    return ticket


def merge(tx: Tx, *, actor: Principal, source_id: int, target_id: int, version: int | None = None) -> dict[str, Any]:
    """Merge ticket `source_id` into `target_id` (staff); the survivor as it is after the merge."""
    source = _staff_ticket(tx, actor, source_id)
    tickets.check_version(source, version)
    if source_id == target_id:
        raise Conflict("a ticket cannot be merged into itself", errors=[{"loc": ["body", "into"], "msg": "self"}])
    target = _staff_ticket(tx, actor, target_id)
    _refuse_running_workflow(tx, source_id)
    moved_comments = _move_comments(tx, actor, source, target)
    moved_files = _move_files(tx, actor, source, target)
    watchers = _move_watchers(tx, actor, source, target)
    time_entries.move(tx, from_ticket_id=source_id, to_ticket_id=target_id)  # the time was spent on one problem
    merged = {
        "by_id": actor.id,
        "source_id": source_id,
        "target_id": target_id,
        "comments": moved_comments,
        "attachments": moved_files,
        "watchers": watchers,
    }
    tickets.move_status(tx, source, Status.CLOSED, by_id=actor.id, first=[("ticket.merged", merged)])
    tickets.emit_changes(tx, target, [("ticket.merged", merged)])
    tickets.add_comment(tx, actor=actor, ticket_id=target_id, body=_merge_note(source), internal=True)
    return tickets.current(tx, ticket_id=target_id)


NOTE_LIMIT = 20_000  # what a comment keeps (`tickets.add_comment`)


def _merge_note(source: Mapping[str, Any]) -> str:
    """The source's own request (its title and description are no comment, so nothing else would carry them),
    as an internal note on the survivor."""
    head = f"Merged from #{source['id']} “{source['title']}”:\n\n"
    text = str(source["description"]).strip() or "(no description)"
    return head + text[: NOTE_LIMIT - len(head)]


def _refuse_running_workflow(tx: Tx, source_id: int) -> None:
    """A ticket waiting on an approval workflow is not merged away: its approvers' decisions and deadline would act
    on a read-only pointer. The workflow ends first (decided, or expired)."""
    run = workflow_rows.run_of(tx.conn, source_id)
    if run is not None and run["status"] == "running":
        raise Conflict(
            f"ticket {source_id} waits on the approval workflow “{run['name']}”: it can be merged when that ends",
            errors=[{"loc": ["path", "ticket_id"], "msg": "running workflow", "type": "workflow_running"}],
        )


def _emit_moved(
    tx: Tx, event_type: str, actor: Principal, source: dict[str, Any], target: dict[str, Any], **item: Any
) -> None:
    tx.emit(
        event_type,
        aggregate_type="ticket",
        aggregate_id=target["id"],
        priority=Priority(target["priority"]),
        data={"ticket_id": target["id"], "by_id": actor.id, "from_ticket_id": source["id"], **item},
    )


def _move_comments(tx: Tx, actor: Principal, source: dict[str, Any], target: dict[str, Any]) -> int:
    rows = tx.conn.execute(
        select(comments.c.id, comments.c.internal).where(comments.c.ticket_id == source["id"]).order_by(comments.c.id)
    ).all()
    tx.conn.execute(update(comments).where(comments.c.ticket_id == source["id"]).values(ticket_id=target["id"]))
    for row in rows:
        _emit_moved(tx, "ticket.comment_moved", actor, source, target, comment_id=row.id, internal=bool(row.internal))
    return len(rows)


def _move_files(tx: Tx, actor: Principal, source: dict[str, Any], target: dict[str, Any]) -> int:
    query = (
        select(attachments.c.id, attachments.c.comment_id, comments.c.internal)
        .outerjoin(comments, comments.c.id == attachments.c.comment_id)
        .where(attachments.c.ticket_id == source["id"])
        .order_by(attachments.c.id)
    )
    rows = tx.conn.execute(query).all()
    tx.conn.execute(update(attachments).where(attachments.c.ticket_id == source["id"]).values(ticket_id=target["id"]))
    for row in rows:
        item = {"attachment_id": row.id, "comment_id": row.comment_id, "internal": bool(row.internal)}
        _emit_moved(tx, "ticket.attachment_moved", actor, source, target, **item)
    return len(rows)


def _move_watchers(tx: Tx, actor: Principal, source: dict[str, Any], target: dict[str, Any]) -> int:
    """The source's watchers, and its requester, watch the survivor (so their replies by mail are taken there)."""
    watching = select(ticket_watchers.c.user_id).where(ticket_watchers.c.ticket_id == source["id"])
    theirs = [int(i) for i in tx.conn.execute(watching.order_by(ticket_watchers.c.user_id)).scalars()]
    already = select(ticket_watchers.c.user_id).where(ticket_watchers.c.ticket_id == target["id"])
    present = {int(i) for i in tx.conn.execute(already).scalars()} | {int(target["requester_id"])}
    coming = [i for i in [*theirs, int(source["requester_id"])] if i not in present]
    tx.conn.execute(delete(ticket_watchers).where(ticket_watchers.c.ticket_id == source["id"]))
    for user_id in theirs:
        _watcher_event(tx, "ticket.watcher_removed", actor, source, user_id)
    for user_id in dict.fromkeys(coming):
        row = {"ticket_id": target["id"], "user_id": user_id, "added_by": actor.id, "created_at": tx.now}
        tx.conn.execute(insert(ticket_watchers).values(row))
        _watcher_event(tx, "ticket.watcher_added", actor, target, user_id)
    return len(dict.fromkeys(coming))


def _watcher_event(tx: Tx, event_type: str, actor: Principal, ticket: dict[str, Any], user_id: int) -> None:
    tx.emit(
        event_type,
        aggregate_type="ticket",
        aggregate_id=ticket["id"],
        priority=Priority(ticket["priority"]),
        data={"ticket_id": ticket["id"], "by_id": actor.id, "watcher_id": user_id},
    )


def split(tx: Tx, *, actor: Principal, ticket_id: int, comment_id: int, title: str | None = None) -> int:
    """Open a new ticket from one comment of `ticket_id` (staff): same requester, category and priority, the
    comment's text as its description, linked to its origin as `related`; `ticket.split` on the origin. Its id."""
    origin = _staff_ticket(tx, actor, ticket_id)
    comment = tx.conn.execute(
        select(comments.c.id, comments.c.body).where(comments.c.id == comment_id, comments.c.ticket_id == ticket_id)
    ).first()
    if comment is None:
        raise NotFound(
            f"ticket {ticket_id} has no comment {comment_id}",
            errors=[{"loc": ["body", "comment_id"], "msg": "unknown"}],
        )
    first_line = next((line.strip() for line in str(comment.body).splitlines() if line.strip()), "")
    requester = principal_of(tx.conn.execute(select(users).where(users.c.id == origin["requester_id"])).one())
    made = tickets.create(
        tx,
        requester=requester,
        title=title or f"Split from #{ticket_id}: {first_line}"[:200],
        description=str(comment.body),
        category_id=origin["category_id"],
        priority=Priority(origin["priority"]),
        channel=origin["channel"] or "api",
    )
    new_id = int(made["id"])
    tx.emit(
        "ticket.split",
        aggregate_type="ticket",
        aggregate_id=ticket_id,
        priority=Priority(origin["priority"]),
        data={"ticket_id": ticket_id, "by_id": actor.id, "comment_id": comment_id, "new_ticket_id": new_id},
    )
    ticket_links.link(tx, actor=actor, ticket_id=new_id, other_id=ticket_id, kind="related")
    return new_id
