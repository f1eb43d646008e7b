"""email in: attachments, inbound mail, bouncing addresses, the source of comments

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import nixflow.store.tables

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
At = nixflow.store.tables.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("comments") as batch_op:
        batch_op.add_column(sa.Column("source", sa.String(length=8), nullable=False, server_default="api"))
    op.create_table(
        "attachments",
        sa.Column("id", Id, nullable=False),
        sa.Column("ticket_id", Id, sa.ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False),
        sa.Column("comment_id", Id, sa.ForeignKey("comments.id", ondelete="CASCADE"), nullable=True),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=127), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("content_id", sa.String(length=255), nullable=True),
        sa.Column("uploaded_by", Id, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("created_at", At, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("attachments") as batch_op:
        batch_op.create_index("ix_attachments_ticket_id", ["ticket_id"], unique=False)
        batch_op.create_index("ix_attachments_comment_id", ["comment_id"], unique=False)
    op.create_table(
        "inbound_mail",
        sa.Column("id", Id, nullable=False),
        sa.Column("message_id", sa.String(length=255), nullable=False),
        sa.Column("sender", sa.String(length=254), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("ticket_id", Id, sa.ForeignKey("tickets.id", ondelete="SET NULL"), nullable=True),
        sa.Column("comment_id", Id, sa.ForeignKey("comments.id", ondelete="SET NULL"), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=True),
        sa.Column("reason", sa.String(length=300), nullable=True),
        sa.Column("auto", sa.Boolean(), nullable=False),
        sa.Column("html", sa.Text(), nullable=True),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.Column("received_at", At, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("message_id", name="uq_inbound_mail_message_id"),
    )
    with op.batch_alter_table("inbound_mail") as batch_op:
        batch_op.create_index("ix_inbound_mail_sender", ["sender", "received_at"], unique=False)
        batch_op.create_index("ix_inbound_mail_ticket_id", ["ticket_id"], unique=False)
    op.create_table(
        "email_bounces",
        sa.Column("address", sa.String(length=254), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.Column("since", At, nullable=False),
        sa.PrimaryKeyConstraint("address"),
    )
    with op.batch_alter_table("notifications") as batch_op:
        batch_op.create_index("ix_notifications_message_id", ["message_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("notifications") as batch_op:
        batch_op.drop_index("ix_notifications_message_id")
    op.drop_table("email_bounces")
    op.drop_table("inbound_mail")
    op.drop_table("attachments")
    with op.batch_alter_table("comments") as batch_op:
        batch_op.drop_column("source")
