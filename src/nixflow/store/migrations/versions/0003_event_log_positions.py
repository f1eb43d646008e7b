"""Event log positions that never skip a late commit.

On PostgreSQL `seq` is taken before commit, so a transaction may commit after one holding a later
`seq`. Each event row therefore records its transaction id (`txid`, 64-bit, set by the database);
readers take only rows of transactions older than every transaction still running
(`pg_snapshot_xmin`) and order by (txid, seq). On SQLite one writer commits in `seq` order and
`txid` stays NULL.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("events") as batch_op:
        batch_op.add_column(sa.Column("txid", sa.BigInteger(), nullable=True))
        batch_op.create_index("ix_events_txid_seq", ["txid", "seq"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE events ALTER COLUMN txid SET DEFAULT (pg_current_xact_id()::text::bigint)")


def downgrade() -> None:
    with op.batch_alter_table("events") as batch_op:
        batch_op.drop_index("ix_events_txid_seq")
        batch_op.drop_column("txid")
