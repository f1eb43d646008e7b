"""local passwords turned off per role (`local_passwords_off`), and the admins who keep theirs
(`break_glass_admins`)

Revision ID: 0035
Revises: 0031 (the identity seam, merged from h-oidc; chained to 0030 by the coordinator as needed)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0035"
down_revision = "0034"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Moment = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "local_passwords_off",
        sa.Column("role", sa.String(16), primary_key=True),
        sa.Column("since", Moment, nullable=False),
    )
    op.create_table(
        "break_glass_admins",
        sa.Column("user_id", Id, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("marked_at", Moment, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("break_glass_admins")
    op.drop_table("local_passwords_off")
