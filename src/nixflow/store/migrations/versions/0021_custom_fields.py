"""custom fields: admins' definitions, values on tickets and users (JSON on the row), and ticket values once more
in `ticket_field_values` (indexed by key and value, for the queue's filter)

Revision ID: 0021
Revises: 0020
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from nixflow.store.tables import UTCDateTime

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    # Plain ALTER TABLE ADD COLUMN, never a batch "recreate" (see 0018: SQLite would cascade the drop).
    op.add_column("tickets", sa.Column("fields", sa.JSON(), nullable=False, server_default="{}"))
    op.add_column("users", sa.Column("fields", sa.JSON(), nullable=False, server_default="{}"))
    op.create_table(
        "field_definitions",
        sa.Column("id", Id, primary_key=True),
        sa.Column("entity", sa.String(16), nullable=False),
        sa.Column("key", sa.String(40), nullable=False),
        sa.Column("label", sa.String(100), nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("required_for_requesters", sa.Boolean(), nullable=False),
        sa.Column("required_for_agents", sa.Boolean(), nullable=False),
        sa.Column("requester_visible", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("minimum", sa.Float()),
        sa.Column("maximum", sa.Float()),
        sa.Column("max_length", sa.Integer()),
        sa.Column("archived_at", UTCDateTime()),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("entity", "key", name="uq_field_definitions_entity_key"),
    )
    op.create_table(
        "ticket_field_values",
        sa.Column("ticket_id", Id, sa.ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False),
        sa.Column("key", sa.String(40), nullable=False),
        sa.Column("value_text", sa.String(500)),
        sa.Column("value_num", sa.Float()),
    )
    op.create_index("ix_ticket_field_values_text", "ticket_field_values", ["key", "value_text", "ticket_id"])
    op.create_index("ix_ticket_field_values_num", "ticket_field_values", ["key", "value_num", "ticket_id"])
    op.create_index("ix_ticket_field_values_ticket", "ticket_field_values", ["ticket_id", "key"])


def downgrade() -> None:
    op.drop_table("ticket_field_values")
    op.drop_table("field_definitions")
    for table in ("users", "tickets"):
        if op.get_bind().dialect.name == "sqlite":
            op.execute(f"ALTER TABLE {table} DROP COLUMN fields")  # SQLite 3.35+; no recreate (see upgrade)
        else:
            op.drop_column(table, "fields")
