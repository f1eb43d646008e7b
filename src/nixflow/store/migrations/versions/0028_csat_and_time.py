"""satisfaction and time: survey answers and time entries (issue 26)

Revision ID: 0028
Revises: 0025
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "csat_answers",
        sa.Column("ticket_id", Id, sa.ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("requester_id", Id, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("rating", sa.String(4), nullable=False),
        sa.Column("comment", sa.Text()),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True)),
        sa.Column("assignee_id", Id),
        sa.Column("category_id", Id),
        sa.Column("organization_id", Id),
    )
    op.create_index("ix_csat_answers_answered_at", "csat_answers", ["answered_at"])
    op.create_table(
        "time_entries",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("ticket_id", Id, sa.ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False),
        sa.Column("agent_id", Id, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("billable", sa.Boolean(), nullable=False),
        sa.Column("note", sa.String(500), nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_time_entries_ticket_id", "time_entries", ["ticket_id"])
    op.create_index("ix_time_entries_agent_id", "time_entries", ["agent_id"])


def downgrade() -> None:
    op.drop_table("time_entries")
    op.drop_table("csat_answers")
