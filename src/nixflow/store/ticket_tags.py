"""The tag index: a ticket's tags one row each (`ticket_tags`), kept equal to the ticket's own `tags` by the one
save that changes them, for the queue's filter and the counts; and the admins' allow list."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Select, delete, func, insert, select

from nixflow.store.tables import tag_allow_list, ticket_tags


def sync(conn: Connection, *, ticket_id: int, before: Sequence[str], after: Sequence[str]) -> None:
    """Make the index hold `after` for this ticket, where it held `before`."""
    gone = [t for t in before if t not in after]
    new = [t for t in after if t not in before]
    if gone:
        conn.execute(delete(ticket_tags).where(ticket_tags.c.ticket_id == ticket_id, ticket_tags.c.tag.in_(gone)))
    if new:
        conn.execute(insert(ticket_tags), [{"ticket_id": ticket_id, "tag": t} for t in new])


def tickets_tagged(tag: str) -> Select[Any]:
    """The ids of the tickets that have `tag` (normalised), by the index on tag."""
    return select(ticket_tags.c.ticket_id).where(ticket_tags.c.tag == tag)


def counts(conn: Connection) -> dict[str, int]:
    """Each tag in use and how many tickets have it."""
    rows = conn.execute(select(ticket_tags.c.tag, func.count()).group_by(ticket_tags.c.tag))
    return {str(tag): int(count) for tag, count in rows}


def allow_list(conn: Connection) -> frozenset[str] | None:
    """The tags admins allow; None when they allow any."""
    tags = frozenset(str(t) for t in conn.execute(select(tag_allow_list.c.tag)).scalars())
    return tags or None


def set_allow_list(conn: Connection, tags: Sequence[str]) -> None:
    """Replace the allow list (normalised tags; empty: any tag is allowed)."""
    conn.execute(delete(tag_allow_list))
    if tags:
        conn.execute(insert(tag_allow_list), [{"tag": t} for t in tags])
