"""macros and canned replies: one table for both (a reply is text; a macro is an optional reply plus changes),
each scoped to its author (personal), a category's agents (team) or everyone

Revision ID: 0020
Revises: 0019
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import nixflow.store.tables

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
At = nixflow.store.tables.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "macros",
        sa.Column("id", Id, primary_key=True),
        sa.Column("kind", sa.String(8), nullable=False),  # reply | macro
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("scope", sa.String(16), nullable=False),  # personal | team | everyone
        sa.Column("owner_id", Id, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("category_id", Id, sa.ForeignKey("categories.id", ondelete="CASCADE")),
        sa.Column("body", sa.Text()),
        sa.Column("internal", sa.Boolean(), nullable=False),
        sa.Column("actions", sa.JSON(), nullable=False),
        sa.Column("created_at", At, nullable=False),
        sa.Column("updated_at", At, nullable=False),
    )
    op.create_index("ix_macros_kind_name", "macros", ["kind", "name"])


def downgrade() -> None:
    op.drop_index("ix_macros_kind_name", table_name="macros")
    op.drop_table("macros")
