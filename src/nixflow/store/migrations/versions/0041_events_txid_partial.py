"""Event log: the (txid, seq) index covers only rows that have a transaction id (issue 29).

`txid` is set by PostgreSQL and always NULL on SQLite, where nothing reads the index (the log is read by
`seq` there), yet every event paid an index write for it. Partial on `txid IS NOT NULL`, it costs SQLite's
events nothing; on PostgreSQL every row is still in it, and the tailer's `txid < horizon` implies the
predicate, so its plan is unchanged.

Revision ID: 0041
Revises: 0040
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0041"
down_revision = "0040"
branch_labels = None
depends_on = None

HAS_TXID = "txid IS NOT NULL"


def upgrade() -> None:
    op.drop_index("ix_events_txid_seq", table_name="events")
    op.create_index(
        "ix_events_txid_seq",
        "events",
        ["txid", "seq"],
        sqlite_where=sa.text(HAS_TXID),
        postgresql_where=sa.text(HAS_TXID),
    )


def downgrade() -> None:
    op.drop_index("ix_events_txid_seq", table_name="events")
    op.create_index("ix_events_txid_seq", "events", ["txid", "seq"])
