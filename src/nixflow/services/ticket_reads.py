"""When each staff user last looked at each ticket, and which tickets changed since: the queue's unread markers.

A look is the log position of the ticket's newest event when the user opened it. A ticket is `updated` for a
user when an event of it by anyone else (a person or automation) came after that position, and `new` when the
user never opened it and someone else did something to it. Recording a look is a write on a read, so it is made
after the answer is sent, and only when the position moved.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Literal

from sqlalchemy import Connection, and_, func, or_, select

from nixflow.domain.envelope import EventContext
from nixflow.services.users import Principal
from nixflow.store.db import Database, Tx, upsert
from nixflow.store.tables import events, ticket_reads
from nixflow.store.writer import Writer

log = logging.getLogger(__name__)

Unread = Literal["new", "updated"]


def _newest_by_others(conn: Connection, user_id: int, ticket_ids: list[int]) -> dict[int, int]:
    """Ticket id → the log position of its newest event not caused by `user_id`."""
    others = or_(events.c.actor_id.is_(None), events.c.actor_id != user_id)
    rows = conn.execute(
        select(events.c.aggregate_id, func.max(events.c.seq))
        .where(
            and_(
                events.c.aggregate_type == "ticket",
                events.c.aggregate_id.in_([str(i) for i in ticket_ids]),
                others,
            )
        )
        .group_by(events.c.aggregate_id)
    )
    return {int(r[0]): int(r[1]) for r in rows}


def _seen(conn: Connection, user_id: int, ticket_ids: list[int]) -> dict[int, int]:
    rows = conn.execute(
        select(ticket_reads.c.ticket_id, ticket_reads.c.seen_seq).where(
            ticket_reads.c.user_id == user_id, ticket_reads.c.ticket_id.in_(ticket_ids)
        )
    )
    return {int(r[0]): int(r[1]) for r in rows}


def unread(conn: Connection, *, viewer: Principal, ticket_ids: Iterable[int]) -> dict[int, Unread]:
    """The tickets among `ticket_ids` that changed since the viewer last looked (absent: nothing new)."""
    ids = sorted(set(ticket_ids))
    if not ids or not viewer.is_staff:
        return {}
    newest = _newest_by_others(conn, viewer.id, ids)
    seen = _seen(conn, viewer.id, ids)
    marks: dict[int, Unread] = {}
    for ticket_id, position in newest.items():
        if ticket_id not in seen:
            marks[ticket_id] = "new"
        elif position > seen[ticket_id]:
            marks[ticket_id] = "updated"
    return marks


def _record(tx: Tx, *, user_id: int, ticket_id: int, position: int) -> None:
    statement = upsert(tx.conn, ticket_reads).values(
        user_id=user_id, ticket_id=ticket_id, seen_seq=position, seen_at=tx.now
    )
    tx.conn.execute(
        statement.on_conflict_do_update(
            index_elements=[ticket_reads.c.user_id, ticket_reads.c.ticket_id],
            set_={"seen_seq": statement.excluded.seen_seq, "seen_at": statement.excluded.seen_at},
        )
    )


async def note_look(db: Database, writer: Writer, *, viewer: Principal, ticket_id: int, ctx: EventContext) -> None:
    """Record that a staff user looked at a ticket now (a no-op when nothing happened since their last look)."""
    if not viewer.is_staff:
        return

    def positions(conn: Connection) -> tuple[int | None, int | None]:
        newest = conn.execute(
            select(func.max(events.c.seq)).where(
                events.c.aggregate_type == "ticket", events.c.aggregate_id == str(ticket_id)
            )
        ).scalar()
        return newest, _seen(conn, viewer.id, [ticket_id]).get(ticket_id)

    try:
        newest, seen = await db.read(positions)
        if newest is None or newest == seen:
            return
        await writer.run(lambda tx: _record(tx, user_id=viewer.id, ticket_id=ticket_id, position=newest), ctx)
    except Exception:  # a look not recorded costs a stale marker, never the page the user already has
        log.exception("could not record that user %s looked at ticket %s", viewer.id, ticket_id)
