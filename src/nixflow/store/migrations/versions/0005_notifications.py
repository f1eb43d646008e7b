"""notifications, ticket watchers and notification preferences

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import nixflow.store.tables

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
At = nixflow.store.tables.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "notifications",
        sa.Column("id", Id, nullable=False),
        sa.Column("recipient_id", Id, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("ticket_id", Id, sa.ForeignKey("tickets.id", ondelete="CASCADE"), nullable=True),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("rule_id", sa.BigInteger(), nullable=True),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("change", sa.JSON(), nullable=True),
        sa.Column("in_app", sa.Boolean(), nullable=False),
        sa.Column("created_at", At, nullable=False),
        sa.Column("read_at", At, nullable=True),
        sa.Column("email_status", sa.String(length=16), nullable=True),
        sa.Column("send_after", At, nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.String(length=36), nullable=True),
        sa.Column("claimed_at", At, nullable=True),
        sa.Column("message_id", sa.String(length=255), nullable=True),
        sa.Column("sent_at", At, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_id", "recipient_id", name="uq_notifications_event_recipient"),
    )
    with op.batch_alter_table("notifications") as batch_op:
        batch_op.create_index("ix_notifications_recipient_id", ["recipient_id", "in_app", "id"], unique=False)
        batch_op.create_index("ix_notifications_email_due", ["email_status", "send_after"], unique=False)
        batch_op.create_index("ix_notifications_ticket_id", ["ticket_id"], unique=False)
    op.create_table(
        "ticket_watchers",
        sa.Column("ticket_id", Id, sa.ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False),
        sa.Column("user_id", Id, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("added_by", sa.BigInteger(), nullable=True),
        sa.Column("created_at", At, nullable=False),
        sa.PrimaryKeyConstraint("ticket_id", "user_id"),
    )
    with op.batch_alter_table("ticket_watchers") as batch_op:
        batch_op.create_index("ix_ticket_watchers_user_id", ["user_id"], unique=False)
    op.create_table(
        "notification_preferences",
        sa.Column("user_id", Id, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("email", sa.JSON(), nullable=False),
        sa.Column("in_app", sa.JSON(), nullable=False),
        sa.Column("digest", sa.String(length=8), nullable=False),
        sa.Column("last_digest_at", At, nullable=True),
        sa.Column("updated_at", At, nullable=False),
        sa.PrimaryKeyConstraint("user_id"),
    )


def downgrade() -> None:
    op.drop_table("notification_preferences")
    op.drop_table("ticket_watchers")
    op.drop_table("notifications")
