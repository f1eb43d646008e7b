"""Event log: positions never reused on SQLite; a small index of the events not yet delivered.

On SQLite `seq` was a plain INTEGER PRIMARY KEY, which hands out max(seq) + 1: once cleanup deleted the
newest rows, new events took old positions, and `?after=` readers and the log tailer skipped them.
AUTOINCREMENT never reuses a position. (PostgreSQL's sequence never did.)

The index on (status, next_attempt_at) covered every event and moved with every status change; most
events are now written already `completed`, so a partial index over the unfinished ones (what the
sweeper and the per-aggregate ordering check read) stays small and costs finished events nothing.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

UNFINISHED = "status IN ('pending', 'processing', 'retrying')"


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    with op.batch_alter_table(
        "events", recreate="always" if sqlite else "auto", table_kwargs={"sqlite_autoincrement": True}
    ) as batch_op:
        batch_op.drop_index("ix_events_status_due")
    op.create_index(
        "ix_events_unfinished",
        "events",
        ["aggregate_type", "aggregate_id", "seq"],
        sqlite_where=sa.text(UNFINISHED),
        postgresql_where=sa.text(UNFINISHED),
    )


def downgrade() -> None:
    op.drop_index("ix_events_unfinished", table_name="events")
    op.create_index("ix_events_status_due", "events", ["status", "next_attempt_at"])
