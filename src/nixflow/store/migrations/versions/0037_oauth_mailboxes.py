"""OAuth2 mailboxes: IMAP polling and SMTP sending signed in with XOAUTH2/OAUTHBEARER (issue 27)

Revision ID: 0037
Revises: 0036
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0037"
down_revision = "0036"  # 0030 on main; after 0031 here, since this branch merged h-oidc's identity seam
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "mail_oauth_mailboxes",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("address", sa.String(254), nullable=False, unique=True),
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("authorization_endpoint", sa.String(2000), nullable=False),
        sa.Column("token_endpoint", sa.String(2000), nullable=False),
        sa.Column("scopes", sa.String(1000), nullable=False),
        sa.Column("client_id", sa.String(500), nullable=False),
        sa.Column("client_secret", sa.Text()),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("refresh_token", sa.Text()),
        sa.Column("grant_version", sa.Integer(), nullable=False),
        sa.Column("connected_at", When),
        sa.Column("paused_at", When),
        sa.Column("paused_reason", sa.String(300)),
        sa.Column("pending_state", sa.String(64)),
        sa.Column("pending_verifier", sa.Text()),
        sa.Column("pending_by", sa.BigInteger()),
        sa.Column("pending_until", When),
        sa.Column("created_by", sa.BigInteger()),
        sa.Column("created_at", When, nullable=False),
        sa.Column("updated_at", When, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("mail_oauth_mailboxes")
