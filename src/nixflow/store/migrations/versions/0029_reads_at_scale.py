"""reads at scale (issue 31): the search index by piece; an index per queue filter ending in id

0019 kept one row per ticket with every comment joined, rewritten whole on each comment: a reply cost the
length of the conversation. Now each piece is its own row, keyed by what it indexes (`store.ticket_index`): the
ticket's runs of 32 comments (run 0 with the ticket's own fields), and each file name.
The queue filtered by a column reads newest first: an index of (column, id) serves the page without a sort.

Revision ID: 0029
Revises: 0025
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None

# PostgreSQL: the weights of 0019 (title A, description B, conversation C, requester D), per row.
_PUBLIC = (
    "setweight(to_tsvector('english', title), 'A') || setweight(to_tsvector('english', description), 'B') || "
    "setweight(to_tsvector('english', comments || ' ' || "
    "regexp_replace(attachments, '[^[:alnum:]]+', ' ', 'g')), 'C') || "
    "setweight(to_tsvector('english', requester), 'D')"
)
_STAFF = f"{_PUBLIC} || setweight(to_tsvector('english', notes), 'C')"
_TEXT = ("title", "description", "comments", "notes", "attachments", "requester")
_REQUESTER = "u.name || ' ' || u.email || ' ' || replace(replace(u.email, '@', ' '), '.', ' ')"
_OWN = "FROM tickets AS t JOIN users AS u ON u.id = t.requester_id"
# A frozen copy of `store.ticket_index.reindex` for every ticket: runs of 32 comments, the first with the
# ticket's own fields (key `(ticket id << 21) + 2 * run`), and a row per file name.
_FILES = (
    "SELECT 2 * x.id + 1, '', '', '', CASE WHEN c.internal THEN x.filename ELSE '' END, "
    "CASE WHEN c.internal THEN '' ELSE x.filename END, '', x.ticket_id, '', '' "
    "FROM attachments AS x LEFT JOIN comments AS c ON c.id = x.comment_id"
)
_RUN, _SEPARATOR = 32, "\u2029"
_COLUMNS = (*_TEXT, "ticket_id", "comment_ids", "note_ids")


def _runs() -> list[dict[str, object]]:
    """Each ticket's rows: its comments by place (a discarded one keeps its place, unindexed) in runs."""
    bind = op.get_bind()
    own = bind.execute(sa.text(f"SELECT t.id, t.title, t.description, {_REQUESTER} AS requester {_OWN}")).all()
    runs: dict[tuple[int, int], list[Any]] = {(r.id, 0): [] for r in own}
    ticket, number = None, 0
    for row in bind.execute(
        sa.text("SELECT id, ticket_id, body, internal, unverified FROM comments ORDER BY ticket_id, id")
    ):
        ticket, number = row.ticket_id, (number + 1 if row.ticket_id == ticket else 0)
        members = runs.setdefault((row.ticket_id, number // _RUN), [])
        if (row.unverified or "") != "discarded":
            members.append(row)
    fields = {r.id: r for r in own}
    rows: list[dict[str, object]] = []
    for (t, run), members in runs.items():
        if (run == 0 and t not in fields) or (run > 0 and not members):
            continue
        first = fields[t] if run == 0 else None
        out: dict[str, object] = {"key": (t << 21) + 2 * run, "attachments": "", "ticket_id": t}
        out |= {name: "" if first is None else getattr(first, name) for name in ("title", "description", "requester")}
        for name, ids, internal in (("comments", "comment_ids", False), ("notes", "note_ids", True)):
            part = [m for m in members if bool(m.internal) == internal]
            out |= {name: _SEPARATOR.join(m.body for m in part), ids: " ".join(str(m.id) for m in part)}
        rows.append(out)
    return rows


# (index, table, columns now, columns before)
_INDEXES = (
    ("ix_tickets_status", "tickets", ["status", "id"], None),
    ("ix_tickets_status_priority", "tickets", None, ["status", "priority"]),
    ("ix_tickets_priority", "tickets", ["priority", "id"], None),
    ("ix_tickets_assignee_id", "tickets", ["assignee_id", "id"], ["assignee_id"]),
    ("ix_tickets_category_id", "tickets", ["category_id", "id"], ["category_id"]),
    ("ix_tickets_requester_id", "tickets", ["requester_id", "id"], ["requester_id"]),
    ("ix_tickets_organization_id", "tickets", ["organization_id", "id"], ["organization_id"]),
    ("ix_tickets_updated_at", "tickets", ["updated_at", "id"], ["updated_at"]),
    ("ix_tickets_resolution_due", "tickets", ["resolution_due", "id"], ["resolution_due"]),
    ("ix_events_event_type", "events", ["event_type", "seq"], ["event_type"]),
)
# (index, table, columns, which rows): the rows a list asks for by `IS NULL`.
_PARTIAL = (
    ("ix_notifications_unread", "notifications", ["recipient_id", "in_app", "id"], "read_at IS NULL"),
    ("ix_tickets_unassigned", "tickets", ["id"], "assignee_id IS NULL"),
    ("ix_tickets_open", "tickets", ["id"], "status NOT IN ('resolved', 'closed')"),
)


def _indexes(now: bool) -> None:
    for name, table, after, before in _INDEXES:
        old, new = (before, after) if now else (after, before)
        if old is not None:
            op.drop_index(name, table_name=table)
        if new is not None:
            op.create_index(name, table, new)


def upgrade() -> None:
    _indexes(now=True)
    for name, table, columns, rows in _PARTIAL:
        op.create_index(name, table, columns, sqlite_where=sa.text(rows), postgresql_where=sa.text(rows))
    op.execute("DROP TABLE IF EXISTS ticket_search")
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        texts = ", ".join(f"{c} TEXT NOT NULL DEFAULT ''" for c in _TEXT)
        op.execute(
            f"CREATE TABLE ticket_search (piece BIGINT PRIMARY KEY, {texts}, "
            "ticket_id BIGINT NOT NULL REFERENCES tickets (id) ON DELETE CASCADE, "
            "comment_ids TEXT NOT NULL DEFAULT '', note_ids TEXT NOT NULL DEFAULT '', "
            f"public_doc tsvector GENERATED ALWAYS AS ({_PUBLIC}) STORED, "
            f"staff_doc tsvector GENERATED ALWAYS AS ({_STAFF}) STORED)"
        )
        op.execute("CREATE INDEX ix_ticket_search_public ON ticket_search USING GIN (public_doc)")
        op.execute("CREATE INDEX ix_ticket_search_staff ON ticket_search USING GIN (staff_doc)")
        op.execute("CREATE INDEX ix_ticket_search_ticket ON ticket_search (ticket_id)")
    else:
        op.execute(
            f"CREATE VIRTUAL TABLE ticket_search USING fts5({', '.join(_TEXT)}, "
            "ticket_id UNINDEXED, comment_ids UNINDEXED, note_ids UNINDEXED, tokenize = 'porter unicode61')"
        )
    key = "piece" if postgres else "rowid"
    # The tickets already there are found from the first search on.
    op.execute(f"INSERT INTO ticket_search ({key}, {', '.join(_COLUMNS)}) {_FILES}")
    runs = _runs()
    if runs:
        values = ", ".join(f":{c}" for c in ("key", *_COLUMNS))
        insert = f"INSERT INTO ticket_search ({key}, {', '.join(_COLUMNS)}) VALUES ({values})"
        op.get_bind().execute(sa.text(insert), runs)


def downgrade() -> None:
    for name, table, _columns, _rows in _PARTIAL:
        op.drop_index(name, table_name=table)
    _indexes(now=False)
    # 0019's table, empty: `nixflow search rebuild` of that version fills it.
    op.execute("DROP TABLE IF EXISTS ticket_search")
    if op.get_bind().dialect.name == "postgresql":
        texts = ", ".join(f"{c} TEXT NOT NULL" for c in _TEXT)
        op.execute(
            "CREATE TABLE ticket_search (ticket_id BIGINT PRIMARY KEY REFERENCES tickets (id) ON DELETE CASCADE, "
            f"{texts}, public_doc tsvector GENERATED ALWAYS AS ({_PUBLIC}) STORED, "
            f"staff_doc tsvector GENERATED ALWAYS AS ({_STAFF}) STORED)"
        )
        op.execute("CREATE INDEX ix_ticket_search_public ON ticket_search USING GIN (public_doc)")
        op.execute("CREATE INDEX ix_ticket_search_staff ON ticket_search USING GIN (staff_doc)")
    else:
        op.execute(f"CREATE VIRTUAL TABLE ticket_search USING fts5({', '.join(_TEXT)}, tokenize = 'porter unicode61')")
