"""queue order and reads: indexes for sorting the queue by update and due time; when each staff user last
looked at each ticket

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import nixflow.store.tables

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
At = nixflow.store.tables.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_index("ix_tickets_updated_at", "tickets", ["updated_at"])
    op.create_index("ix_tickets_resolution_due", "tickets", ["resolution_due"])
    op.create_table(
        "ticket_reads",
        sa.Column("user_id", Id, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("ticket_id", Id, sa.ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False),
        sa.Column("seen_seq", sa.BigInteger(), nullable=False),
        sa.Column("seen_at", At, nullable=False),
        sa.PrimaryKeyConstraint("user_id", "ticket_id"),
    )


def downgrade() -> None:
    op.drop_table("ticket_reads")
    op.drop_index("ix_tickets_resolution_due", table_name="tickets")
    op.drop_index("ix_tickets_updated_at", table_name="tickets")
