"""ticket tags: the aggregate's tags on the ticket row, one row per tag in `ticket_tags` (indexed by tag, for the
queue's filter), and the admins' allow list

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    # A plain ALTER TABLE ADD COLUMN (a constant default), never a batch "recreate": on SQLite, with foreign keys on
    # (NixFlow's engines turn them on), dropping the old tickets table would cascade and delete every comment.
    op.add_column("tickets", sa.Column("tags", sa.JSON(), nullable=False, server_default="[]"))
    op.create_table(
        "ticket_tags",
        sa.Column("ticket_id", Id, sa.ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False),
        sa.Column("tag", sa.String(40), nullable=False),
        sa.PrimaryKeyConstraint("ticket_id", "tag"),
    )
    op.create_index("ix_ticket_tags_tag", "ticket_tags", ["tag", "ticket_id"])
    op.create_table("tag_allow_list", sa.Column("tag", sa.String(40), primary_key=True))


def downgrade() -> None:
    op.drop_table("tag_allow_list")
    op.drop_index("ix_ticket_tags_tag", table_name="ticket_tags")
    op.drop_table("ticket_tags")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE tickets DROP COLUMN tags")  # SQLite 3.35+; no recreate (see upgrade)
    else:
        op.drop_column("tickets", "tags")
