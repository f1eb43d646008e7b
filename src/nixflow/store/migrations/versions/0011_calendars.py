"""business-hours calendars with versions; SLA policies and categories may name one

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import nixflow.store.tables

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
At = nixflow.store.tables.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "calendars",
        sa.Column("id", Id, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("created_at", At, nullable=False),
        sa.Column("updated_at", At, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "calendar_versions",
        sa.Column("calendar_id", Id, nullable=False),
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("effective_from", At, nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("hours", sa.JSON(), nullable=False),
        sa.Column("holidays", sa.JSON(), nullable=False),
        sa.Column("ical_url", sa.String(length=2000), nullable=True),
        sa.Column("closed", sa.JSON(), nullable=True),
        sa.Column("created_at", At, nullable=False),
        sa.ForeignKeyConstraint(["calendar_id"], ["calendars.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("calendar_id", "version"),
    )
    with op.batch_alter_table("sla_policies") as batch_op:
        batch_op.add_column(sa.Column("calendar_id", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("categories") as batch_op:
        batch_op.add_column(sa.Column("calendar_id", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("categories") as batch_op:
        batch_op.drop_column("calendar_id")
    with op.batch_alter_table("sla_policies") as batch_op:
        batch_op.drop_column("calendar_id")
    op.drop_table("calendar_versions")
    op.drop_table("calendars")
