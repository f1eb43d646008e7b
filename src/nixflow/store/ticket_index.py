"""The tickets' full-text index: one row per ticket with its searchable text, by field.

SQLite keeps it in the FTS5 table `ticket_search` (rowid = ticket id); PostgreSQL in the table `ticket_search`,
whose generated tsvectors `public_doc` (what a requester may search) and `staff_doc` (with internal notes)
carry GIN indexes (migration 0019). A ticket's row is rewritten whole from the tables, so whatever changed
(a comment, an attachment, a title, the requester) the row is what the tables say.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, bindparam, text

# Columns in index order; `services`-side code names the fields by these.
FIELDS = ("title", "description", "comments", "notes", "attachments", "requester")
# Between two comments of one field: a character nobody types, so a snippet can be placed in its comment.
SEPARATOR = "\u2029"


def _aggregate(dialect: str, value: str, source: str) -> str:
    """`value` of `source`'s rows joined by the separator in id order ('' when none)."""
    if dialect == "postgresql":
        return f"coalesce((SELECT string_agg({value}, :sep ORDER BY x.id) FROM {source}), '')"
    return f"coalesce((SELECT group_concat(v, :sep) FROM (SELECT {value} AS v FROM {source} ORDER BY x.id)), '')"


def _select(dialect: str) -> str:
    # A held mail the agents discarded is no longer part of the ticket's conversation.
    comments = (
        "comments AS x WHERE x.ticket_id = t.id AND x.internal = {} AND coalesce(x.unverified, '') <> 'discarded'"
    )
    files = (
        "attachments AS x LEFT JOIN comments AS c ON c.id = x.comment_id "
        "WHERE x.ticket_id = t.id AND coalesce(c.internal, {}) = {}"
    )
    no, yes = ("false", "true") if dialect == "postgresql" else ("0", "1")
    notes = _aggregate(dialect, "x.body", comments.format(yes))
    internal_files = _aggregate(dialect, "x.filename", files.format(no, yes))
    return (
        "SELECT t.id, t.title, t.description, "
        f"{_aggregate(dialect, 'x.body', comments.format(no))}, "
        f"{notes} || :sep || {internal_files}, "
        f"{_aggregate(dialect, 'x.filename', files.format(no, no))}, "
        "u.name || ' ' || u.email || ' ' || replace(replace(u.email, '@', ' '), '.', ' ') "
        "FROM tickets AS t JOIN users AS u ON u.id = t.requester_id"
    )


def _key(dialect: str) -> str:
    return "ticket_id" if dialect == "postgresql" else "rowid"


def reindex(conn: Connection, ticket_ids: Sequence[int] | None = None) -> int:
    """Rewrite the index rows of `ticket_ids` (None: every ticket) from the tables; how many it wrote."""
    dialect = conn.dialect.name
    key = _key(dialect)
    insert = f"INSERT INTO ticket_search ({key}, {', '.join(FIELDS)}) {_select(dialect)}"
    if ticket_ids is None:
        conn.execute(text("DELETE FROM ticket_search"))
        return conn.execute(text(insert), {"sep": SEPARATOR}).rowcount
    ids = {"ids": list(ticket_ids)}
    conn.execute(
        text(f"DELETE FROM ticket_search WHERE {key} IN :ids").bindparams(bindparam("ids", expanding=True)), ids
    )
    return conn.execute(
        text(f"{insert} WHERE t.id IN :ids").bindparams(bindparam("ids", expanding=True)), ids | {"sep": SEPARATOR}
    ).rowcount
