"""SAML service provider: its key pair (made once, the private key encrypted) and the outstanding AuthnRequests

Revision ID: 0034
Revises: 0033
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0034"
down_revision = "0033"  # 0030 on main; the identity providers it refers to come with 0031
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "saml_sp_keys",
        sa.Column("id", sa.SmallInteger(), primary_key=True),
        sa.Column("certificate", sa.Text(), nullable=False),
        sa.Column("private_key", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "saml_requests",
        sa.Column("request_id", sa.String(100), primary_key=True),
        sa.Column("provider_id", Id, sa.ForeignKey("identity_providers.id", ondelete="CASCADE"), nullable=False),
        sa.Column("next_path", sa.String(500), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_saml_requests_expires_at", "saml_requests", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_saml_requests_expires_at", table_name="saml_requests")
    op.drop_table("saml_requests")
    op.drop_table("saml_sp_keys")
