"""languages: notification titles by key, knowledge-base search in each article's language (issue 30)

Notifications get the title's message id and values (existing rows keep NULL: they show their stored title).
The knowledge base's index follows an article's language: on PostgreSQL the generated `search` vector uses the
language's text search configuration (german, french, spanish, arabic; english otherwise); on SQLite articles not
in English move to `kb_search_plain`, an FTS5 table without stemming (FTS5 has only the English porter stemmer).

Revision ID: 0042
Revises: 0041
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0042"
down_revision = "0041"
branch_labels = None
depends_on = None

_CONFIG = (
    "CASE language WHEN 'de' THEN 'german'::regconfig WHEN 'fr' THEN 'french'::regconfig "
    "WHEN 'es' THEN 'spanish'::regconfig WHEN 'ar' THEN 'arabic'::regconfig ELSE 'english'::regconfig END"
)


def _vector(config: str) -> str:
    return (
        f"setweight(to_tsvector({config}, coalesce(title, '')), 'A') || "
        f"setweight(to_tsvector({config}, coalesce(body, '')), 'B')"
    )


def _search_column(config: str) -> None:
    op.execute("DROP INDEX IF EXISTS ix_kb_articles_search")
    op.execute("ALTER TABLE kb_articles DROP COLUMN search")
    op.execute(f"ALTER TABLE kb_articles ADD COLUMN search tsvector GENERATED ALWAYS AS ({_vector(config)}) STORED")
    op.execute("CREATE INDEX ix_kb_articles_search ON kb_articles USING GIN (search)")


def upgrade() -> None:
    op.add_column("notifications", sa.Column("title_key", sa.String(300), nullable=True))
    op.add_column("notifications", sa.Column("title_params", sa.JSON(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        _search_column(_CONFIG)
        return
    op.execute(
        "CREATE VIRTUAL TABLE kb_search_plain USING fts5(title, body, tokenize = 'unicode61 remove_diacritics 2')"
    )
    op.execute(
        "INSERT INTO kb_search_plain (rowid, title, body) "
        "SELECT id, title, body FROM kb_articles WHERE language <> 'en'"
    )
    op.execute("DELETE FROM kb_search WHERE rowid IN (SELECT id FROM kb_articles WHERE language <> 'en')")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _search_column("'english'::regconfig")
        op.drop_column("notifications", "title_params")
        op.drop_column("notifications", "title_key")
        return
    op.execute("INSERT INTO kb_search (rowid, title, body) SELECT rowid, title, body FROM kb_search_plain")
    op.execute("DROP TABLE kb_search_plain")
    op.execute("ALTER TABLE notifications DROP COLUMN title_params")  # SQLite 3.35+; no batch recreate
    op.execute("ALTER TABLE notifications DROP COLUMN title_key")
