"""saved views: a named queue filter, sort and columns, personal, shared with a team (a category) or everyone

Revision ID: 0023
Revises: 0022
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "saved_views",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("owner_id", Id, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("scope", sa.String(10), nullable=False),
        sa.Column("category_id", Id, sa.ForeignKey("categories.id", ondelete="CASCADE")),
        sa.Column("filters", sa.JSON(), nullable=False),
        sa.Column("sort", sa.String(40), nullable=False),
        sa.Column("columns", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_saved_views_owner", "saved_views", ["owner_id"])
    op.create_index("ix_saved_views_scope", "saved_views", ["scope", "category_id"])


def downgrade() -> None:
    op.drop_index("ix_saved_views_scope", table_name="saved_views")
    op.drop_index("ix_saved_views_owner", table_name="saved_views")
    op.drop_table("saved_views")
