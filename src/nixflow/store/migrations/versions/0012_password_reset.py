"""password reset: one-time links (stored hashed), and what a rate-limited attempt was for

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import nixflow.store.tables

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
At = nixflow.store.tables.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("login_attempts") as batch_op:
        batch_op.add_column(sa.Column("purpose", sa.String(length=16), nullable=False, server_default="login"))
    op.create_table(
        "password_resets",
        sa.Column("id", Id, nullable=False),
        sa.Column("user_id", Id, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("token_sealed", sa.Text(), nullable=True),
        sa.Column("notification_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", At, nullable=False),
        sa.Column("expires_at", At, nullable=False),
        sa.Column("ended_at", At, nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("password_resets") as batch_op:
        batch_op.create_index("ix_password_resets_user_id", ["user_id"], unique=False)
        batch_op.create_index("ix_password_resets_notification_id", ["notification_id"], unique=False)


def downgrade() -> None:
    op.drop_table("password_resets")
    with op.batch_alter_table("login_attempts") as batch_op:
        batch_op.drop_column("purpose")
