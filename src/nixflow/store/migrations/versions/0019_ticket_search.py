"""tickets' full-text index: titles, descriptions, comments, internal notes, attachment names, requesters

Revision ID: 0019
Revises: 0018
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

# PostgreSQL: the title weighs A, the description B, the conversation C, who asked D; `english` stems. The
# requester's address and the file names are also split into words (the parser would keep `invoice.pdf` whole).
_PUBLIC = (
    "setweight(to_tsvector('english', title), 'A') || setweight(to_tsvector('english', description), 'B') || "
    "setweight(to_tsvector('english', comments || ' ' || "
    "regexp_replace(attachments, '[^[:alnum:]]+', ' ', 'g')), 'C') || "
    "setweight(to_tsvector('english', requester), 'D')"
)
_STAFF = f"{_PUBLIC} || setweight(to_tsvector('english', notes), 'C')"

# A frozen copy of `store.ticket_index.reindex` for every ticket: comments and file names joined by U+2029
# in id order; internal notes (and the files on them) apart, for staff only.
_COMMENTS = "comments AS x WHERE x.ticket_id = t.id AND x.internal = {} AND coalesce(x.unverified, '') <> 'discarded'"
_FILES = (
    "attachments AS x LEFT JOIN comments AS c ON c.id = x.comment_id "
    "WHERE x.ticket_id = t.id AND coalesce(c.internal, {}) = {}"
)


def _joined(dialect: str, value: str, source: str) -> str:
    if dialect == "postgresql":
        return f"coalesce((SELECT string_agg({value}, :sep ORDER BY x.id) FROM {source}), '')"
    return f"coalesce((SELECT group_concat(v, :sep) FROM (SELECT {value} AS v FROM {source} ORDER BY x.id)), '')"


def _index_every_ticket(dialect: str) -> None:
    no, yes = ("false", "true") if dialect == "postgresql" else ("0", "1")
    key = "ticket_id" if dialect == "postgresql" else "rowid"
    op.get_bind().execute(
        sa.text(
            f"INSERT INTO ticket_search ({key}, title, description, comments, notes, attachments, requester) "
            "SELECT t.id, t.title, t.description, "
            f"{_joined(dialect, 'x.body', _COMMENTS.format(no))}, "
            f"{_joined(dialect, 'x.body', _COMMENTS.format(yes))} || :sep || "
            f"{_joined(dialect, 'x.filename', _FILES.format(no, yes))}, "
            f"{_joined(dialect, 'x.filename', _FILES.format(no, no))}, "
            "u.name || ' ' || u.email || ' ' || replace(replace(u.email, '@', ' '), '.', ' ') "
            "FROM tickets AS t JOIN users AS u ON u.id = t.requester_id"
        ),
        {"sep": "\u2029"},
    )


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(
            "CREATE TABLE ticket_search (ticket_id BIGINT PRIMARY KEY REFERENCES tickets (id) ON DELETE CASCADE, "
            "title TEXT NOT NULL, description TEXT NOT NULL, comments TEXT NOT NULL, notes TEXT NOT NULL, "
            "attachments TEXT NOT NULL, requester TEXT NOT NULL, "
            f"public_doc tsvector GENERATED ALWAYS AS ({_PUBLIC}) STORED, "
            f"staff_doc tsvector GENERATED ALWAYS AS ({_STAFF}) STORED)"
        )
        op.execute("CREATE INDEX ix_ticket_search_public ON ticket_search USING GIN (public_doc)")
        op.execute("CREATE INDEX ix_ticket_search_staff ON ticket_search USING GIN (staff_doc)")
    else:
        op.execute(
            "CREATE VIRTUAL TABLE ticket_search USING fts5("
            "title, description, comments, notes, attachments, requester, tokenize = 'porter unicode61')"
        )
    _index_every_ticket(dialect)  # the tickets already there are found from the first search on


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS ticket_search")
