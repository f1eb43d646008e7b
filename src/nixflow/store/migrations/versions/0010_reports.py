"""report read models: tickets, backlog spells, SLA outcomes, staff roles (docs/metrics.md)

Revision ID: 0010
Revises: 0008
"""

from __future__ import annotations

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
    from nixflow.reports.rebuild import rebuild

    rebuild(op.get_bind())


def downgrade() -> None:
    op.drop_table("report_staff")
    op.drop_table("report_sla")
    op.drop_table("report_spells")
    op.drop_table("report_tickets")
