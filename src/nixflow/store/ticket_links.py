"""Links between tickets (`ticket_links`, one row per link: domain/relations.py says which way it is kept) and
the admins' option that keeps a parent open while a child is."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, or_, select

from nixflow.domain.relations import StoredLink
from nixflow.domain.tickets import Status
from nixflow.store.db import insert_returning_id, upsert
from nixflow.store.tables import ticket_link_options, ticket_links, tickets

OPEN_STATUSES = (Status.NEW.value, Status.OPEN.value, Status.PENDING.value)


def find(conn: Connection, link: StoredLink) -> dict[str, Any] | None:
    """This link's row (its id and when it was made), if it is there."""
    found = conn.execute(
        select(ticket_links.c.id, ticket_links.c.created_at).where(
            ticket_links.c.from_id == link.from_id, ticket_links.c.to_id == link.to_id, ticket_links.c.kind == link.kind
        )
    ).first()
    return None if found is None else dict(found._mapping)


def add(conn: Connection, link: StoredLink, *, by_id: int, at: datetime) -> int:
    """Store a link; its new id."""
    values = {"from_id": link.from_id, "to_id": link.to_id, "kind": link.kind, "created_by": by_id, "created_at": at}
    return insert_returning_id(conn, insert(ticket_links), values)


def remove(conn: Connection, link_id: int) -> None:
    conn.execute(delete(ticket_links).where(ticket_links.c.id == link_id))


def of_ticket(conn: Connection, ticket_id: int) -> list[dict[str, Any]]:
    """Every link of a ticket (either end), oldest first, with the stored link as `link` and the row's columns."""
    query = (
        select(ticket_links)
        .where(or_(ticket_links.c.from_id == ticket_id, ticket_links.c.to_id == ticket_id))
        .order_by(ticket_links.c.id)
    )
    return [
        {**dict(r._mapping), "link": StoredLink(int(r.from_id), int(r.to_id), str(r.kind))} for r in conn.execute(query)
    ]


def children(conn: Connection, ticket_ids: list[int]) -> list[int]:
    """The children of these tickets (one level)."""
    query = select(ticket_links.c.to_id).where(ticket_links.c.kind == "parent", ticket_links.c.from_id.in_(ticket_ids))
    return [int(i) for i in conn.execute(query).scalars()]


def open_children(conn: Connection, ticket_id: int) -> list[int]:
    """The children of a ticket that are not resolved or closed, by id."""
    query = (
        select(tickets.c.id)
        .join(ticket_links, ticket_links.c.to_id == tickets.c.id)
        .where(
            ticket_links.c.kind == "parent",
            ticket_links.c.from_id == ticket_id,
            tickets.c.status.in_(OPEN_STATUSES),
        )
        .order_by(tickets.c.id)
    )
    return [int(i) for i in conn.execute(query).scalars()]


def block_parent_close(conn: Connection) -> bool:
    """Whether an open child keeps its parent from being resolved or closed (off until an admin sets it)."""
    return bool(conn.execute(select(ticket_link_options.c.block_parent_close)).scalar())


def set_block_parent_close(conn: Connection, value: bool) -> None:
    statement = upsert(conn, ticket_link_options).values(id=1, block_parent_close=value)
    conn.execute(statement.on_conflict_do_update(index_elements=["id"], set_={"block_parent_close": value}))
