"""`nixflow reports rebuild`: empty the read models and replay the whole log into them; never when the log
has lost history the read models still hold."""

from __future__ import annotations

from sqlalchemy import Connection, String, cast, delete, exists, func, insert, or_, select, text

from nixflow.domain.errors import Conflict
from nixflow.reports.projection import HANDLER_NAME, PROJECTORS
from nixflow.store.tables import (
    SYSTEM_USER_ID,
    UNFINISHED_SQL,
    events,
    handler_receipts,
    report_days,
    report_sla,
    report_spells,
    report_staff,
    report_tickets,
    users,
)

TABLES = (report_tickets, report_spells, report_sla, report_staff, report_days)
BATCH = 1000


class HistoryLost(Conflict):
    """The read models hold tickets whose events the log no longer has: a rebuild would drop their figures."""


def tickets_beyond_the_log(conn: Connection) -> int:
    """How many tickets of the read models the log no longer holds the creation of (retention or
    `nixflow events cleanup` removed it, and with it the start of their history)."""
    created = exists().where(
        events.c.aggregate_type == "ticket",
        events.c.aggregate_id == cast(report_tickets.c.ticket_id, String),
        events.c.event_type == "ticket.created",
    )
    return int(conn.execute(select(func.count()).select_from(report_tickets).where(~created)).scalar_one())


def rebuild(conn: Connection) -> int:
    """Recompute every read model from the log, in log order, in the caller's transaction; return the
    number of events applied.

    An event still on its way (unfinished, and not yet handled by the projection) is left to its
    delivery, which applies it after this; a duplicate the dispatcher skipped is skipped here too. Raises
    `HistoryLost`, changing nothing, when the log no longer holds every ticket the read models know.
    """
    if conn.dialect.name == "postgresql":  # live handlers wait until the rebuilt tables commit
        names = ", ".join(table.name for table in TABLES)
        conn.execute(text(f"LOCK TABLE {names} IN EXCLUSIVE MODE"))
    lost = tickets_beyond_the_log(conn)
    if lost:
        raise HistoryLost(
            f"the event log no longer holds the history of {lost} ticket(s) the reports count (event retention or "
            "`nixflow events cleanup` removed their events): a rebuild would lose their figures, so the report "
            "tables were left as they are"
        )
    for table in TABLES:
        conn.execute(delete(table))
    # Roles first from the users table, for accounts whose `user.created` retention has removed from the log;
    # replaying the user events then gives everyone else's role at each moment.
    accounts = select(users.c.id, users.c.role).where(users.c.id != SYSTEM_USER_ID)
    conn.execute(insert(report_staff).from_select(["user_id", "role"], accounts))
    receipts = handler_receipts.c
    handled = exists().where(receipts.handler == HANDLER_NAME, receipts.event_id == events.c.event_id)
    wanted = (
        events.c.event_type.in_(list(PROJECTORS)),
        events.c.duplicate_of.is_(None),
        or_(text(f"NOT ({UNFINISHED_SQL})"), handled),
    )
    columns = (events.c.seq, events.c.event_type, events.c.timestamp, events.c.data)
    applied, last = 0, 0
    while True:
        rows = conn.execute(select(*columns).where(events.c.seq > last, *wanted).order_by(events.c.seq).limit(BATCH))
        batch = rows.all()
        for row in batch:
            PROJECTORS[row.event_type](conn, row.timestamp, row.data)
        if len(batch) < BATCH:
            return applied + len(batch)
        applied, last = applied + len(batch), batch[-1].seq
