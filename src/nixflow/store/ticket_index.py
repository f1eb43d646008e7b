"""The tickets' full-text index: one row per piece of a ticket, so a new comment costs one row, not the thread.

A ticket's own fields (title, description, requester) are one row; each comment or internal note is a row;
each attachment's name is a row. Every row has the same six text columns (`FIELDS`), only its own filled, and
carries `ticket_id` (and `comment_id`, for a comment, a note or a file on one); search groups them by ticket.

A row's key (`rowid` of SQLite's FTS5 table `ticket_search`; `piece` of PostgreSQL's table, whose generated
tsvectors `public_doc` and `staff_doc` carry GIN indexes) follows from what it indexes: `-ticket id` for the
ticket's own fields, `2 * comment id` for a comment, `2 * attachment id + 1` for a file (migration 0029). So
rewriting one piece is a delete and an insert by key, whatever the length of the conversation around it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from sqlalchemy import BindParameter, Connection, bindparam, text

# Text columns in index order; `services`-side code names the fields by these.
FIELDS = ("title", "description", "comments", "notes", "attachments", "requester")
COLUMNS = (*FIELDS, "ticket_id", "comment_id")
Piece = Literal["ticket", "comment", "attachment"]

_REQUESTER = "u.name || ' ' || u.email || ' ' || replace(replace(u.email, '@', ' '), '.', ' ')"
# What each kind of piece writes in COLUMNS order, the key it gets, and where it is read from. A held mail the
# agents discarded is no longer part of the ticket's conversation.
_SOURCES: dict[Piece, tuple[str, str, str]] = {
    "ticket": (
        f"t.title, t.description, '', '', '', {_REQUESTER}, t.id, NULL",
        "-t.id",
        "tickets AS t JOIN users AS u ON u.id = t.requester_id WHERE {on}",
    ),
    "comment": (
        "'', '', CASE WHEN x.internal THEN '' ELSE x.body END, CASE WHEN x.internal THEN x.body ELSE '' END, "
        "'', '', x.ticket_id, x.id",
        "2 * x.id",
        "comments AS x WHERE coalesce(x.unverified, '') <> 'discarded' AND {on}",
    ),
    "attachment": (
        "'', '', '', CASE WHEN c.internal THEN x.filename ELSE '' END, "
        "CASE WHEN c.internal THEN '' ELSE x.filename END, '', x.ticket_id, x.comment_id",
        "2 * x.id + 1",
        "attachments AS x LEFT JOIN comments AS c ON c.id = x.comment_id WHERE {on}",
    ),
}
_ALIAS: dict[Piece, str] = {"ticket": "t", "comment": "x", "attachment": "x"}
_TABLE: dict[Piece, str] = {"ticket": "tickets", "comment": "comments", "attachment": "attachments"}


def _key(conn: Connection) -> str:
    return "piece" if conn.dialect.name == "postgresql" else "rowid"


def _write(conn: Connection, piece: Piece, on: str, ids: Sequence[int] | None) -> int:
    """Delete and re-insert the rows of `piece`s chosen by `on` (a condition on its source, with `:ids`)."""
    values, key_of, source = _SOURCES[piece]
    alias, key = _ALIAS[piece], _key(conn)
    insert = f"INSERT INTO ticket_search ({key}, {', '.join(COLUMNS)}) SELECT {key_of}, {values} FROM {{}}"
    if ids is None:
        return conn.execute(text(insert.format(source.format(on="1 = 1")))).rowcount
    where = on.format(a=alias)
    delete = f"DELETE FROM ticket_search WHERE {key} IN (SELECT {key_of} FROM {_TABLE[piece]} AS {alias} WHERE {where})"
    expanding: BindParameter[list[int]] = bindparam("ids", expanding=True)
    conn.execute(text(delete).bindparams(expanding), {"ids": list(ids)})
    return conn.execute(text(insert.format(source.format(on=where))).bindparams(expanding), {"ids": list(ids)}).rowcount


def index_pieces(conn: Connection, piece: Piece, ids: Sequence[int]) -> None:
    """Rewrite the rows of these tickets' own fields, comments or attachments (by their ids) from the tables."""
    if ids:
        _write(conn, piece, "{a}.id IN :ids", ids)


def reindex(conn: Connection, ticket_ids: Sequence[int] | None = None) -> int:
    """Rewrite every row of `ticket_ids` (None: of every ticket) from the tables; how many tickets it wrote."""
    if ticket_ids is None:
        conn.execute(text("DELETE FROM ticket_search"))
    elif not ticket_ids:
        return 0
    for piece in ("comment", "attachment"):
        _write(conn, piece, "{a}.ticket_id IN :ids", ticket_ids)
    return _write(conn, "ticket", "{a}.id IN :ids", ticket_ids)
