"""ticket channel: where a ticket was opened (web, mail, api), for rules that route by it

Revision ID: 0024
Revises: 0023
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN, never a batch "recreate" (see 0018: on SQLite that would cascade into the comments).
    # Tickets opened before stay NULL: their channel was not recorded, and guessing would mislead a rule.
    op.add_column("tickets", sa.Column("channel", sa.String(8), nullable=True))


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE tickets DROP COLUMN channel")  # SQLite 3.35+; no recreate (see upgrade)
    else:
        op.drop_column("tickets", "channel")
