"""session usage (issue 27, "Your sessions"): where each session or API token was created and last used

`last_used_at` is written at most once a minute per token and process (`services.sessions.UseLedger`); the
address is the client's (as `api.security.client_address` sees it), the agent the browser and system reduced
from the User-Agent header (`domain.user_agents.describe`), never the header itself.

Revision ID: 0036
Revises: 0035
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0036"
down_revision = "0035"
branch_labels = None
depends_on = None

_COLUMNS = (
    ("created_address", sa.String(64)),
    ("created_agent", sa.String(80)),
    ("last_used_at", sa.DateTime(timezone=True)),
    ("last_address", sa.String(64)),
    ("last_agent", sa.String(80)),
)


def upgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch_op:
        for name, type_ in _COLUMNS:
            batch_op.add_column(sa.Column(name, type_, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch_op:
        for name, _type in reversed(_COLUMNS):
            batch_op.drop_column(name)
