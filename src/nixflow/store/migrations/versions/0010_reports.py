"""report read models: tickets, backlog spells, SLA outcomes, staff roles (docs/metrics.md)

Revision ID: 0010
Revises: 0008

Frozen: the read models are filled from the log by a copy of the projection as it was at this revision
(`_replay`), not by today's `reports.rebuild`, so a later change to the reports cannot break upgrading an old
database. Later changes to the read models come with their own migration.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

import nixflow.store.tables

revision = "0010"
down_revision = "0008"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
At = nixflow.store.tables.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "report_tickets",
        sa.Column("ticket_id", Id, autoincrement=False, nullable=False),
        sa.Column("created_at", At, nullable=False),
        sa.Column("category_id", sa.BigInteger(), nullable=True),
        sa.Column("priority", sa.String(length=16), nullable=False),
        sa.Column("assignee_id", sa.BigInteger(), nullable=True),
        sa.Column("first_reply_at", At, nullable=True),
        sa.Column("first_reply_by", sa.BigInteger(), nullable=True),
        sa.Column("resolved_at", At, nullable=True),
        sa.Column("reopens", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("ticket_id"),
    )
    with op.batch_alter_table("report_tickets") as batch_op:
        batch_op.create_index("ix_report_tickets_created_at", ["created_at"], unique=False)
        batch_op.create_index("ix_report_tickets_first_reply_at", ["first_reply_at"], unique=False)
        batch_op.create_index("ix_report_tickets_resolved_at", ["resolved_at"], unique=False)
    op.create_table(
        "report_spells",
        sa.Column("ticket_id", Id, autoincrement=False, nullable=False),
        sa.Column("spell", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("opened_at", At, nullable=False),
        sa.Column("solved_at", At, nullable=True),
        sa.PrimaryKeyConstraint("ticket_id", "spell"),
    )
    with op.batch_alter_table("report_spells") as batch_op:
        batch_op.create_index("ix_report_spells_opened_at", ["opened_at"], unique=False)
        batch_op.create_index("ix_report_spells_solved_at", ["solved_at"], unique=False)
    op.create_table(
        "report_sla",
        sa.Column("ticket_id", Id, autoincrement=False, nullable=False),
        sa.Column("target", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=8), nullable=False),
        sa.Column("due_at", At, nullable=False),
        sa.Column("at", At, nullable=False),
        sa.PrimaryKeyConstraint("ticket_id", "target"),
    )
    with op.batch_alter_table("report_sla") as batch_op:
        batch_op.create_index("ix_report_sla_at", ["at"], unique=False)
    op.create_table(
        "report_staff",
        sa.Column("user_id", Id, autoincrement=False, nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("user_id"),
    )
    # Tickets and users older than this migration are in the log: fill the read models from it.
    _replay(op.get_bind())


def downgrade() -> None:
    op.drop_table("report_staff")
    op.drop_table("report_sla")
    op.drop_table("report_spells")
    op.drop_table("report_tickets")


# The tables as they are at this revision (lightweight: only what the replay reads and writes).
_events = sa.table(
    "events",
    sa.column("seq", sa.BigInteger()),
    sa.column("event_type", sa.String()),
    sa.column("status", sa.String()),
    sa.column("timestamp", At),
    sa.column("data", sa.JSON()),
    sa.column("duplicate_of", sa.String()),
)
_users = sa.table("users", sa.column("id", sa.BigInteger()), sa.column("role", sa.String()))
_tickets = sa.table(
    "report_tickets",
    *(sa.column(name) for name in ("ticket_id", "category_id", "priority", "assignee_id", "first_reply_by")),
    *(sa.column(name, At) for name in ("created_at", "first_reply_at", "resolved_at")),
    sa.column("reopens", sa.Integer()),
)
_spells = sa.table(
    "report_spells",
    sa.column("ticket_id"),
    sa.column("spell", sa.Integer()),
    sa.column("opened_at", At),
    sa.column("solved_at", At),
)
_sla = sa.table(
    "report_sla",
    sa.column("ticket_id"),
    sa.column("target"),
    sa.column("outcome"),
    sa.column("due_at", At),
    sa.column("at", At),
)
_staff = sa.table("report_staff", sa.column("user_id"), sa.column("role"))
_SYSTEM_USER_ID = 0
_UNFINISHED = "status IN ('pending', 'processing', 'retrying')"  # left to their delivery, which projects them

Data = Mapping[str, Any]


def _ticket(data: Data) -> Any:
    return _tickets.c.ticket_id == int(data["ticket_id"])


def _created(conn: sa.Connection, at: datetime, data: Data) -> None:
    ticket_id = int(data["ticket_id"])
    conn.execute(
        sa.insert(_tickets).values(
            ticket_id=ticket_id,
            created_at=at,
            category_id=data.get("category_id"),
            priority=data["priority"],
            reopens=0,
        )
    )
    conn.execute(sa.insert(_spells).values(ticket_id=ticket_id, spell=0, opened_at=at))


def _assign(column: str, key: str) -> Callable[[sa.Connection, datetime, Data], None]:
    def assign(conn: sa.Connection, _at: datetime, data: Data) -> None:
        conn.execute(sa.update(_tickets).where(_ticket(data)).values({column: data[key]}))

    return assign


def _commented(conn: sa.Connection, at: datetime, data: Data) -> None:
    if data["internal"]:
        return
    author = int(data["author_id"])
    by_staff = sa.exists().where(_staff.c.user_id == author, _staff.c.role.in_(("agent", "admin")))
    conn.execute(
        sa.update(_tickets)
        .where(_ticket(data), _tickets.c.first_reply_at.is_(None), by_staff)
        .values(first_reply_at=at, first_reply_by=author)
    )


def _resolved(conn: sa.Connection, at: datetime, data: Data) -> None:
    conn.execute(sa.update(_tickets).where(_ticket(data)).values(resolved_at=at))
    open_spell = sa.and_(_spells.c.ticket_id == int(data["ticket_id"]), _spells.c.solved_at.is_(None))
    conn.execute(sa.update(_spells).where(open_spell).values(solved_at=at))


def _reopened(conn: sa.Connection, at: datetime, data: Data) -> None:
    conn.execute(sa.update(_tickets).where(_ticket(data)).values(resolved_at=None, reopens=_tickets.c.reopens + 1))
    spell = sa.select(_tickets.c.ticket_id, _tickets.c.reopens, sa.literal(at, type_=At)).where(_ticket(data))
    conn.execute(sa.insert(_spells).from_select(["ticket_id", "spell", "opened_at"], spell))


def _sla_outcome(outcome: str) -> Callable[[sa.Connection, datetime, Data], None]:
    """`met` keeps the first outcome of a target; `breached` overwrites it."""

    def record(conn: sa.Connection, at: datetime, data: Data) -> None:
        due = data["due_at"]
        if not isinstance(due, datetime):
            due = datetime.fromisoformat(str(due).replace("Z", "+00:00"))
        key = (_sla.c.ticket_id == int(data["ticket_id"]), _sla.c.target == data["target"])
        if conn.execute(sa.select(sa.func.count()).select_from(_sla).where(*key)).scalar_one():
            if outcome == "breached":
                conn.execute(sa.update(_sla).where(*key).values(outcome=outcome, at=at))
            return
        values = {"ticket_id": int(data["ticket_id"]), "target": data["target"], "outcome": outcome}
        conn.execute(sa.insert(_sla).values(**values, due_at=due, at=at))

    return record


def _user_created(conn: sa.Connection, _at: datetime, data: Data) -> None:
    user = _staff.c.user_id == int(data["user_id"])
    if conn.execute(sa.select(sa.func.count()).select_from(_staff).where(user)).scalar_one():
        conn.execute(sa.update(_staff).where(user).values(role=data["role"]))
    else:
        conn.execute(sa.insert(_staff).values(user_id=int(data["user_id"]), role=data["role"]))


def _role_changed(conn: sa.Connection, _at: datetime, data: Data) -> None:
    conn.execute(sa.update(_staff).where(_staff.c.user_id == int(data["user_id"])).values(role=data["new_role"]))


_PROJECTORS: Mapping[str, Callable[[sa.Connection, datetime, Data], None]] = {
    "ticket.created": _created,
    "ticket.category_changed": _assign("category_id", "new_category_id"),
    "ticket.priority_changed": _assign("priority", "new_priority"),
    "ticket.assigned": _assign("assignee_id", "assignee_id"),
    "ticket.commented": _commented,
    "ticket.resolved": _resolved,
    "ticket.reopened": _reopened,
    "sla.met": _sla_outcome("met"),
    "sla.breached": _sla_outcome("breached"),
    "user.created": _user_created,
    "user.role_changed": _role_changed,
}


def _replay(conn: sa.Connection) -> None:
    """Staff roles from the users table, then every finished, non-duplicate event the projection reads, in log
    order. No report handler has run before this revision, so none of its receipts need consulting."""
    accounts = sa.select(_users.c.id, _users.c.role).where(_users.c.id != _SYSTEM_USER_ID)
    conn.execute(sa.insert(_staff).from_select(["user_id", "role"], accounts))
    wanted = (
        _events.c.event_type.in_(list(_PROJECTORS)),
        _events.c.duplicate_of.is_(None),
        sa.text(f"NOT ({_UNFINISHED})"),
    )
    columns = (_events.c.seq, _events.c.event_type, _events.c.timestamp, _events.c.data)
    last = 0
    while batch := conn.execute(
        sa.select(*columns).where(_events.c.seq > last, *wanted).order_by(_events.c.seq).limit(1000)
    ).all():
        for row in batch:
            _PROJECTORS[row.event_type](conn, row.timestamp, row.data)
        last = batch[-1].seq
