"""The tickets' full-text index: a row per piece of a ticket, comments grouped in runs of a bounded size.

A ticket's own fields (title, description, requester) are one row; its comments are numbered in id order (all
of them, discarded or not, notes and public alike) and cut into runs of `RUN`: each run is a row of its public
comments and a row of its internal notes, the comments joined by `SEPARATOR` and their ids listed in
`comment_ids` in the same order; each attachment's name is a row. Every row has the same six text columns
(`FIELDS`), only its own filled, and carries `ticket_id`; search groups them by ticket.

So a new comment rewrites its run (at most `RUN` comments), never the conversation; and a word found in every
comment is scored once per run, not once per comment. A row's key (`rowid` of SQLite's FTS5 table
`ticket_search`; `piece` of PostgreSQL's table, whose generated tsvectors `public_doc` and `staff_doc` carry
GIN indexes) follows from what it indexes (migration 0029): `-ticket id` for the ticket's own fields,
`run_key` for a run (even), `2 * attachment id + 1` for a file.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Literal

from sqlalchemy import BindParameter, Connection, bindparam, text

# Text columns in index order; `services`-side code names the fields by these.
FIELDS = ("title", "description", "comments", "notes", "attachments", "requester")
COLUMNS = (*FIELDS, "ticket_id", "comment_ids")
Piece = Literal["ticket", "comment", "attachment"]
RUN = 32  # comments per run: what one comment's write rewrites at most, and what a common word's score spares
SEPARATOR = "\u2029"  # between two comments of a run: a character nobody types, so a match is placed in its own
_RUNS_PER_TICKET = 1 << 20  # a ticket's run keys are (ticket id << 22) + 4 * run + 2 * internal

_REQUESTER = "u.name || ' ' || u.email || ' ' || replace(replace(u.email, '@', ' '), '.', ' ')"
# What the ticket's own row and a file's row write in COLUMNS order, their keys, and where they are read from.
_SOURCES: dict[str, tuple[str, str, str]] = {
    "ticket": (
        f"t.title, t.description, '', '', '', {_REQUESTER}, t.id, ''",
        "-t.id",
        "tickets AS t JOIN users AS u ON u.id = t.requester_id WHERE {on}",
    ),
    "attachment": (
        "'', '', '', CASE WHEN c.internal THEN x.filename ELSE '' END, "
        "CASE WHEN c.internal THEN '' ELSE x.filename END, '', x.ticket_id, ''",
        "2 * x.id + 1",
        "attachments AS x LEFT JOIN comments AS c ON c.id = x.comment_id WHERE {on}",
    ),
}
_ALIAS = {"ticket": "t", "attachment": "x"}
_TABLE = {"ticket": "tickets", "attachment": "attachments"}
_COMMENT = "SELECT x.id, x.ticket_id, x.body, x.internal, x.unverified FROM comments AS x"


def run_key(ticket_id: int, run: int, internal: bool) -> int:
    """The key of a ticket's run of public comments (or of notes): the ticket's runs are one range of keys."""
    return (ticket_id << 22) + 4 * run + (2 if internal else 0)


def _key(conn: Connection) -> str:
    return "piece" if conn.dialect.name == "postgresql" else "rowid"


def _ids(name: str) -> BindParameter[list[int]]:
    return bindparam(name, expanding=True)


def _write(conn: Connection, piece: str, on: str, ids: Sequence[int] | None) -> int:
    """Delete and re-insert the rows of `piece`s chosen by `on` (a condition on its source, with `:ids`)."""
    values, key_of, source = _SOURCES[piece]
    alias, key = _ALIAS[piece], _key(conn)
    insert = f"INSERT INTO ticket_search ({key}, {', '.join(COLUMNS)}) SELECT {key_of}, {values} FROM {{}}"
    if ids is None:
        return conn.execute(text(insert.format(source.format(on="1 = 1")))).rowcount
    where = on.format(a=alias)
    delete = f"DELETE FROM ticket_search WHERE {key} IN (SELECT {key_of} FROM {_TABLE[piece]} AS {alias} WHERE {where})"
    conn.execute(text(delete).bindparams(_ids("ids")), {"ids": list(ids)})
    return conn.execute(
        text(insert.format(source.format(on=where))).bindparams(_ids("ids")), {"ids": list(ids)}
    ).rowcount


def _run_rows(comments: Iterable[Any], first_run: int = 0) -> list[dict[str, Any]]:
    """The index rows of comments read in (ticket, id) order, numbered from `first_run * RUN` in each ticket."""
    runs: dict[tuple[int, int, bool], list[Any]] = {}
    ticket, number = None, 0
    for row in comments:
        ticket, number = row.ticket_id, (number + 1 if row.ticket_id == ticket else first_run * RUN)
        if (row.unverified or "") != "discarded":
            runs.setdefault((int(row.ticket_id), number // RUN, bool(row.internal)), []).append(row)
    return [
        {
            "key": run_key(ticket_id, run, internal),
            **dict.fromkeys(("title", "description", "attachments", "requester"), ""),
            "comments": "" if internal else SEPARATOR.join(r.body for r in rows),
            "notes": SEPARATOR.join(r.body for r in rows) if internal else "",
            "ticket_id": ticket_id,
            "comment_ids": " ".join(str(r.id) for r in rows),
        }
        for (ticket_id, run, internal), rows in runs.items()
    ]


def _insert_runs(conn: Connection, rows: list[dict[str, Any]]) -> None:
    if rows:
        names = ", ".join(COLUMNS)
        values = ", ".join(f":{c}" for c in ("key", *COLUMNS))
        conn.execute(text(f"INSERT INTO ticket_search ({_key(conn)}, {names}) VALUES ({values})"), rows)


def _index_runs(conn: Connection, comment_ids: Sequence[int]) -> None:
    """Rewrite the runs these comments belong to: each read by its place in the ticket, from the index of ids."""
    place = text(
        "SELECT DISTINCT x.ticket_id, (SELECT count(*) FROM comments AS o "
        "WHERE o.ticket_id = x.ticket_id AND o.id < x.id) / :run AS run FROM comments AS x WHERE x.id IN :ids"
    ).bindparams(_ids("ids"))
    members = text(
        f"{_COMMENT} WHERE x.ticket_id = :ticket AND x.id IN "
        "(SELECT id FROM comments WHERE ticket_id = :ticket ORDER BY id LIMIT :run OFFSET :skip) ORDER BY x.id"
    )
    delete = text(f"DELETE FROM ticket_search WHERE {_key(conn)} IN :keys").bindparams(_ids("keys"))
    for ticket_id, run in conn.execute(place, {"ids": list(comment_ids), "run": RUN}).all():
        conn.execute(delete, {"keys": [run_key(ticket_id, run, False), run_key(ticket_id, run, True)]})
        rows = conn.execute(members, {"ticket": ticket_id, "run": RUN, "skip": run * RUN})
        _insert_runs(conn, _run_rows(rows, run))


def index_pieces(conn: Connection, piece: Piece, ids: Sequence[int]) -> None:
    """Rewrite the rows of these tickets' own fields, comments' runs or attachments (by their ids) from the tables."""
    if not ids:
        return
    if piece == "comment":
        _index_runs(conn, ids)
    else:
        _write(conn, piece, "{a}.id IN :ids", ids)


def reindex(conn: Connection, ticket_ids: Sequence[int] | None = None) -> int:
    """Rewrite every row of `ticket_ids` (None: of every ticket) from the tables; how many tickets it wrote."""
    key = _key(conn)
    if ticket_ids is None:
        conn.execute(text("DELETE FROM ticket_search"))
        comments = conn.execute(text(f"{_COMMENT} ORDER BY x.ticket_id, x.id"))
    elif not ticket_ids:
        return 0
    else:
        # Every run the tickets had, even one a merge emptied: a ticket's run keys are one range.
        for ticket_id in ticket_ids:
            start = run_key(ticket_id, 0, False)
            span = {"start": start, "end": start + 4 * _RUNS_PER_TICKET}
            conn.execute(text(f"DELETE FROM ticket_search WHERE {key} >= :start AND {key} < :end"), span)
        on = text(f"{_COMMENT} WHERE x.ticket_id IN :ids ORDER BY x.ticket_id, x.id").bindparams(_ids("ids"))
        comments = conn.execute(on, {"ids": list(ticket_ids)})
    _insert_runs(conn, _run_rows(comments.all()))
    _write(conn, "attachment", "{a}.ticket_id IN :ids", ticket_ids)
    return _write(conn, "ticket", "{a}.id IN :ids", ticket_ids)
