"""notification titles in the reader's language: each row's title key and values (issue 30)

Revision ID: 0042
Revises: 0040
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0042"
down_revision = "0040"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing rows keep NULL here: they show their stored (English) title.
    op.add_column("notifications", sa.Column("title_key", sa.String(300), nullable=True))
    op.add_column("notifications", sa.Column("title_params", sa.JSON(), nullable=True))


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE notifications DROP COLUMN title_params")  # SQLite 3.35+; no batch recreate
        op.execute("ALTER TABLE notifications DROP COLUMN title_key")
    else:
        op.drop_column("notifications", "title_params")
        op.drop_column("notifications", "title_key")
