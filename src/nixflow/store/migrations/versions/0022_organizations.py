"""organizations: names, the mail domains that map new senders to them, their members; the organization a
ticket was opened under

Revision ID: 0022
Revises: 0021
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import nixflow.store.tables

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = nixflow.store.tables.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "organizations",
        sa.Column("id", Id, primary_key=True),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("name_key", sa.String(120), nullable=False, unique=True),  # lower-cased: unique regardless of case
        sa.Column("shares_tickets", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("created_at", When, nullable=False),
        sa.Column("updated_at", When, nullable=False),
    )
    op.create_table(
        "organization_domains",
        sa.Column("domain", sa.String(253), primary_key=True),  # a domain belongs to at most one organization
        sa.Column("organization_id", Id, sa.ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False),
    )
    op.create_index("ix_organization_domains_org", "organization_domains", ["organization_id"])
    op.create_table(
        "organization_members",
        sa.Column("organization_id", Id, sa.ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False),
        sa.Column("user_id", Id, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.PrimaryKeyConstraint("organization_id", "user_id"),
    )
    op.create_index("ix_organization_members_user", "organization_members", ["user_id", "organization_id"])
    # An organization's own SLA targets for a priority; the calendar stays the priority's policy's (or category's).
    op.create_table(
        "organization_sla_policies",
        sa.Column("organization_id", Id, sa.ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False),
        sa.Column("priority", sa.String(16), nullable=False),
        sa.Column("first_response_minutes", sa.Integer(), nullable=False),
        sa.Column("resolution_minutes", sa.Integer(), nullable=False),
        sa.Column("warning_percent", sa.Integer(), nullable=False),
        sa.Column("updated_at", When, nullable=False),
        sa.PrimaryKeyConstraint("organization_id", "priority"),
    )
    # No foreign key: a ticket keeps the organization it was opened under as history, even once it is deleted.
    # A plain ADD COLUMN, never a batch recreate (0018 says why).
    op.add_column("tickets", sa.Column("organization_id", Id, nullable=True))
    op.create_index("ix_tickets_organization_id", "tickets", ["organization_id"])


def downgrade() -> None:
    op.drop_index("ix_tickets_organization_id", table_name="tickets")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE tickets DROP COLUMN organization_id")  # SQLite 3.35+; no recreate
    else:
        op.drop_column("tickets", "organization_id")
    op.drop_table("organization_sla_policies")
    op.drop_index("ix_organization_members_user", table_name="organization_members")
    op.drop_table("organization_members")
    op.drop_index("ix_organization_domains_org", table_name="organization_domains")
    op.drop_table("organization_domains")
    op.drop_table("organizations")
