"""ticket relations: a merged ticket's pointer to its survivor, links between tickets, and the option that keeps a
parent open while a child is

Revision ID: 0026
Revises: 0025
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    # A plain ADD COLUMN, never a batch "recreate" (see 0018: on SQLite that would cascade into the comments).
    op.add_column("tickets", sa.Column("merged_into", Id, nullable=True))
    op.create_table(
        "ticket_links",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("from_id", Id, sa.ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False),
        sa.Column("to_id", Id, sa.ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("created_by", Id, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("from_id", "to_id", "kind", name="uq_ticket_links"),
    )
    op.create_index("ix_ticket_links_to", "ticket_links", ["to_id"])
    op.create_table(
        "ticket_link_options",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("block_parent_close", sa.Boolean(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("ticket_link_options")
    op.drop_index("ix_ticket_links_to", table_name="ticket_links")
    op.drop_table("ticket_links")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE tickets DROP COLUMN merged_into")  # SQLite 3.35+; no recreate (see upgrade)
    else:
        op.drop_column("tickets", "merged_into")
