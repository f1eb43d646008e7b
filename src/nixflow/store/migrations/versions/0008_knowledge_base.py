"""knowledge base: articles, versions, tags, ticket links and the full-text index

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import nixflow.store.tables

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
At = nixflow.store.tables.UTCDateTime(timezone=True)

# PostgreSQL: the title weighs A, the body B; `english` stems ("printers" finds "printer").
SEARCH_VECTOR = (
    "setweight(to_tsvector('english', coalesce(title, '')), 'A') || "
    "setweight(to_tsvector('english', coalesce(body, '')), 'B')"
)


def upgrade() -> None:
    op.create_table(
        "kb_articles",
        sa.Column("id", Id, nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("visibility", sa.String(length=16), nullable=False),
        sa.Column("category_id", Id, sa.ForeignKey("categories.id"), nullable=True),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("author_id", Id, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("created_at", At, nullable=False),
        sa.Column("updated_at", At, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("kb_articles") as batch_op:
        batch_op.create_index("ix_kb_articles_category_id", ["category_id"], unique=False)
        batch_op.create_index("ix_kb_articles_status_visibility", ["status", "visibility"], unique=False)
    op.create_table(
        "kb_article_versions",
        sa.Column("article_id", Id, sa.ForeignKey("kb_articles.id", ondelete="CASCADE"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("visibility", sa.String(length=16), nullable=False),
        sa.Column("category_id", sa.BigInteger(), nullable=True),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("author_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", At, nullable=False),
        sa.Column("restored_from", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("article_id", "version"),
    )
    op.create_table(
        "kb_article_tags",
        sa.Column("article_id", Id, sa.ForeignKey("kb_articles.id", ondelete="CASCADE"), nullable=False),
        sa.Column("tag", sa.String(length=50), nullable=False),
        sa.PrimaryKeyConstraint("article_id", "tag"),
    )
    with op.batch_alter_table("kb_article_tags") as batch_op:
        batch_op.create_index("ix_kb_article_tags_tag", ["tag"], unique=False)
    op.create_table(
        "kb_article_tickets",
        sa.Column("article_id", Id, sa.ForeignKey("kb_articles.id", ondelete="CASCADE"), nullable=False),
        sa.Column("ticket_id", Id, sa.ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False),
        sa.Column("relation", sa.String(length=16), nullable=False),
        sa.Column("created_at", At, nullable=False),
        sa.PrimaryKeyConstraint("article_id", "ticket_id", "relation"),
    )
    with op.batch_alter_table("kb_article_tickets") as batch_op:
        batch_op.create_index("ix_kb_article_tickets_ticket_id", ["ticket_id"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE kb_articles ADD COLUMN search tsvector GENERATED ALWAYS AS ({SEARCH_VECTOR}) STORED")
        op.execute("CREATE INDEX ix_kb_articles_search ON kb_articles USING GIN (search)")
    else:
        # The rowid is the article's id; kb.search keeps it in step with kb_articles.
        op.execute("CREATE VIRTUAL TABLE kb_search USING fts5(title, body, tokenize = 'porter unicode61')")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        op.execute("DROP TABLE IF EXISTS kb_search")
    op.drop_table("kb_article_tickets")
    op.drop_table("kb_article_tags")
    op.drop_table("kb_article_versions")
    op.drop_table("kb_articles")
