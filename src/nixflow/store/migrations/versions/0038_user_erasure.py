"""user erasure: when a person's personal data was erased (issue 28); NULL for everyone never erased

Revision ID: 0038
Revises: 0037
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0038"
down_revision = "0037"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN, never a batch "recreate" (see 0018: on SQLite that would cascade into other tables).
    op.add_column("users", sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE users DROP COLUMN erased_at")  # SQLite 3.35+; no recreate (see upgrade)
    else:
        op.drop_column("users", "erased_at")
