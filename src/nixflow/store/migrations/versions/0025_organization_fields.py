"""organization fields: custom field values on organizations (issue 25)

Revision ID: 0025
Revises: 0024
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN, never a batch "recreate" (see 0018), as tickets' and users' `fields` in 0021.
    op.add_column("organizations", sa.Column("fields", sa.JSON(), nullable=False, server_default="{}"))


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE organizations DROP COLUMN fields")  # SQLite 3.35+; no recreate (see upgrade)
    else:
        op.drop_column("organizations", "fields")
