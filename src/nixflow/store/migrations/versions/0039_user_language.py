"""user language: the language and time zone a person chose (issue 30); NULL = not chosen (browser, then default)

Revision ID: 0039
Revises: 0038
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0039"
down_revision = "0038"
branch_labels = None
depends_on = None

COLUMNS = ("locale", "timezone")


def upgrade() -> None:
    # Plain ADD COLUMNs, never a batch "recreate" (see 0018: on SQLite that would cascade into other tables).
    op.add_column("users", sa.Column("locale", sa.String(16), nullable=True))
    op.add_column("users", sa.Column("timezone", sa.String(64), nullable=True))


def downgrade() -> None:
    for column in COLUMNS:
        if op.get_bind().dialect.name == "sqlite":
            op.execute(f"ALTER TABLE users DROP COLUMN {column}")  # SQLite 3.35+; no recreate (see upgrade)
        else:
            op.drop_column("users", column)
