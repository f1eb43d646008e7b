"""knowledge-base translations: an article's language and the group of its translations (issue 30)

Revision ID: 0040
Revises: 0039
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0040"
down_revision = "0039"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMNs, never a batch "recreate": on SQLite that would rebuild kb_articles under kb_search (FTS5,
    # keyed by the article's id) and cascade into its versions, tags and ticket links.
    op.add_column("kb_articles", sa.Column("language", sa.String(8), nullable=False, server_default="en"))
    op.add_column("kb_articles", sa.Column("group_id", sa.BigInteger(), nullable=True))
    op.execute("UPDATE kb_articles SET group_id = id")  # every existing article is the original of its own group
    op.create_index("ux_kb_articles_group_language", "kb_articles", ["group_id", "language"], unique=True)


def downgrade() -> None:
    op.drop_index("ux_kb_articles_group_language", table_name="kb_articles")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE kb_articles DROP COLUMN group_id")  # SQLite 3.35+; no recreate (see upgrade)
        op.execute("ALTER TABLE kb_articles DROP COLUMN language")
    else:
        op.drop_column("kb_articles", "group_id")
        op.drop_column("kb_articles", "language")
