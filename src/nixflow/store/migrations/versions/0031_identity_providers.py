"""identity providers (single sign-on: OpenID Connect, SAML, LDAP) and the links from a provider's subject to a
user (`user_identities`), for just-in-time users and sign-in by a provider

Revision ID: 0031
Revises: 0030
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Moment = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "identity_providers",
        sa.Column("id", Id, primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),  # oidc | saml | ldap
        sa.Column("slug", sa.String(40), nullable=False, unique=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),  # its kind's fields; secrets encrypted
        sa.Column("role_mapping", sa.JSON(), nullable=False),
        sa.Column("created_at", Moment, nullable=False),
        sa.Column("updated_at", Moment, nullable=False),
    )
    op.create_table(
        "user_identities",
        sa.Column("id", Id, primary_key=True),
        sa.Column("user_id", Id, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("provider_id", Id, sa.ForeignKey("identity_providers.id", ondelete="CASCADE"), nullable=False),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("created_at", Moment, nullable=False),
        sa.Column("last_sign_in_at", Moment),
        sa.UniqueConstraint("provider_id", "subject", name="uq_user_identities_subject"),
    )
    op.create_index("ix_user_identities_user", "user_identities", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_user_identities_user", table_name="user_identities")
    op.drop_table("user_identities")
    op.drop_table("identity_providers")
