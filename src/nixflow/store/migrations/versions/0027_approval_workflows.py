"""approval workflows: definitions, a run per ticket, delegations, and a category's workflow (issue 26)

Revision ID: 0027
Revises: 0025
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
At = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "workflows",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", At, nullable=False),
        sa.Column("updated_at", At, nullable=False),
    )
    op.create_table(
        "workflow_runs",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("ticket_id", Id, sa.ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False),
        sa.Column("workflow_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("approver_ids", sa.JSON(), nullable=False),
        sa.Column("decisions", sa.JSON(), nullable=False),
        sa.Column("step_due_at", At),
        sa.Column("started_at", At, nullable=False),
        sa.Column("finished_at", At),
    )
    op.create_index("ix_workflow_runs_ticket", "workflow_runs", ["ticket_id"])
    op.create_index("ix_workflow_runs_due", "workflow_runs", ["step_due_at"])
    op.create_table(
        "workflow_delegations",
        sa.Column("user_id", Id, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("delegate_id", Id, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("starts_at", At, nullable=False),
        sa.Column("ends_at", At, nullable=False),
    )
    # A plain ADD COLUMN, never a batch "recreate" (see 0018).
    op.add_column("categories", sa.Column("workflow_id", sa.BigInteger()))


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE categories DROP COLUMN workflow_id")  # SQLite 3.35+; no recreate (see upgrade)
    else:
        op.drop_column("categories", "workflow_id")
    op.drop_table("workflow_delegations")
    op.drop_index("ix_workflow_runs_due", table_name="workflow_runs")
    op.drop_index("ix_workflow_runs_ticket", table_name="workflow_runs")
    op.drop_table("workflow_runs")
    op.drop_table("workflows")
