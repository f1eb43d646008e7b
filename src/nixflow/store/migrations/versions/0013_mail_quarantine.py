"""mail quarantine: mail the intake could not store, held with its bytes and the error

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import nixflow.store.tables

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
At = nixflow.store.tables.UTCDateTime(timezone=True)
HELD = sa.text("state = 'held'")


def upgrade() -> None:
    op.create_table(
        "mail_quarantine",
        sa.Column("id", Id, nullable=False),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("message_id", sa.String(length=255), nullable=True),
        sa.Column("sender", sa.String(length=254), nullable=True),
        sa.Column("subject", sa.String(length=300), nullable=True),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=True),
        sa.Column("error_type", sa.String(length=100), nullable=False),
        sa.Column("error", sa.String(length=1000), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("inbound_id", Id, sa.ForeignKey("inbound_mail.id", ondelete="SET NULL"), nullable=True),
        sa.Column("ticket_id", Id, sa.ForeignKey("tickets.id", ondelete="SET NULL"), nullable=True),
        sa.Column("quarantined_at", At, nullable=False),
        sa.Column("updated_at", At, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("mail_quarantine") as batch_op:
        batch_op.create_index(
            "ux_mail_quarantine_held", ["digest"], unique=True, sqlite_where=HELD, postgresql_where=HELD
        )
        batch_op.create_index("ix_mail_quarantine_state", ["state", "id"], unique=False)


def downgrade() -> None:
    op.drop_table("mail_quarantine")
