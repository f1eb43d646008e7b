"""The tickets' full-text index: a row per run of a ticket's comments (the first with the ticket's own fields).

A ticket's comments are numbered in id order (all of them, discarded or not, notes and public alike, so a
number never moves) and cut into runs of `RUN`. A run is one row: its public comments in `comments`, its
internal notes in `notes`, each joined by `SEPARATOR`, their ids in `comment_ids` and `note_ids` in the same
order; run 0 also holds the ticket's own fields (title, description, requester), so a ticket of up to `RUN`
comments is one row. Each attachment's name is a row of its own. Every row has the same six text columns
(`FIELDS`) and carries `ticket_id`; search groups rows by ticket.

So a comment rewrites its run (at most `RUN` comments), an edit of the ticket its run 0, never the
conversation; and a word found in every comment is scored once per run, not once per comment. A row's key
(`rowid` of SQLite's FTS5 table `ticket_search`; `piece` of PostgreSQL's table, whose generated tsvectors
`public_doc` and `staff_doc` carry GIN indexes) follows from what it indexes (migration 0029): `run_key`
(even) for a run, `2 * attachment id + 1` for a file.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Literal

from sqlalchemy import BindParameter, Connection, bindparam, text

from nixflow.store.fast import Fast

# Text columns in index order; `services`-side code names the fields by these.
FIELDS = ("title", "description", "comments", "notes", "attachments", "requester")
COLUMNS = (*FIELDS, "ticket_id", "comment_ids", "note_ids")
Piece = Literal["ticket", "comment", "attachment"]
RUN = 32  # comments per run: what one comment's write rewrites at most, and what a common word's score spares
SEPARATOR = "\u2029"  # between two comments of a run: a character nobody types, so a match is placed in its own
_RUN_BITS = 20  # a ticket's run keys are (ticket id << 21) + 2 * run: one range per ticket

_REQUESTER = "u.name || ' ' || u.email || ' ' || replace(replace(u.email, '@', ' '), '.', ' ')"
_OWN = (
    f"SELECT t.id, t.title, t.description, {_REQUESTER} AS requester "
    "FROM tickets AS t JOIN users AS u ON u.id = t.requester_id"
)
_COMMENT = "SELECT x.id, x.ticket_id, x.body, x.internal, x.unverified FROM comments AS x"
# A file's row in COLUMNS order, its key, and where it is read from (a file on a note counts as a note).
_FILE = (
    "'', '', '', CASE WHEN c.internal THEN x.filename ELSE '' END, "
    "CASE WHEN c.internal THEN '' ELSE x.filename END, '', x.ticket_id, '', ''"
)
_FILES = "FROM attachments AS x LEFT JOIN comments AS c ON c.id = x.comment_id"


def run_key(ticket_id: int, run: int) -> int:
    """The key of a ticket's run: even, and a ticket's runs are one range of keys."""
    return (ticket_id << (_RUN_BITS + 1)) + 2 * run


def _key(conn: Connection) -> str:
    return "piece" if conn.dialect.name == "postgresql" else "rowid"


def _ids(name: str) -> BindParameter[list[int]]:
    return bindparam(name, expanding=True)


def _files(conn: Connection, on: str, ids: Sequence[int] | None) -> None:
    """Delete and re-insert the rows of the files chosen by `on` (a condition on `x`, with `:ids`)."""
    key = _key(conn)
    insert = f"INSERT INTO ticket_search ({key}, {', '.join(COLUMNS)}) SELECT 2 * x.id + 1, {_FILE} {_FILES}"
    if ids is None:
        conn.execute(text(insert))
        return
    delete = f"DELETE FROM ticket_search WHERE {key} IN (SELECT 2 * x.id + 1 FROM attachments AS x WHERE {on})"
    conn.execute(text(delete).bindparams(_ids("ids")), {"ids": list(ids)})
    conn.execute(text(f"{insert} WHERE {on}").bindparams(_ids("ids")), {"ids": list(ids)})


def _rows(own: dict[int, Any], comments: Iterable[Any], first_run: int = 0) -> list[dict[str, Any]]:
    """The rows of the runs of comments read in (ticket, id) order, numbered from `first_run * RUN` in each
    ticket; run 0 of each ticket in `own` (its own fields) even without a comment."""
    runs: dict[tuple[int, int], list[Any]] = {(ticket_id, 0): [] for ticket_id in own}
    ticket, number = None, 0
    for row in comments:
        ticket, number = row.ticket_id, (number + 1 if row.ticket_id == ticket else first_run * RUN)
        members = runs.setdefault((int(row.ticket_id), number // RUN), [])
        if (row.unverified or "") != "discarded":
            members.append(row)
    rows = []
    for (ticket_id, run), members in runs.items():
        fields = own.get(ticket_id) if run == 0 else None
        if (run == 0 and fields is None) or (run > 0 and not members):
            continue  # a ticket gone, or a run all discarded
        public, notes = [m for m in members if not m.internal], [m for m in members if m.internal]
        out: dict[str, Any] = {"key": run_key(ticket_id, run), "attachments": "", "ticket_id": ticket_id}
        for name in ("title", "description", "requester"):
            out[name] = "" if fields is None else getattr(fields, name)
        for name, ids, part in (("comments", "comment_ids", public), ("notes", "note_ids", notes)):
            out |= {name: SEPARATOR.join(m.body for m in part), ids: " ".join(str(m.id) for m in part)}
        rows.append(out)
    return rows


def _own(conn: Connection, ticket_ids: Sequence[int] | None) -> dict[int, Any]:
    if ticket_ids is None:
        return {int(r.id): r for r in conn.execute(text(_OWN))}
    on = text(f"{_OWN} WHERE t.id IN :ids").bindparams(_ids("ids"))
    return {int(r.id): r for r in conn.execute(on, {"ids": list(ticket_ids)})}


def _insert(conn: Connection, rows: list[dict[str, Any]]) -> None:
    if rows:
        values = ", ".join(f":{c}" for c in ("key", *COLUMNS))
        conn.execute(text(f"INSERT INTO ticket_search ({_key(conn)}, {', '.join(COLUMNS)}) VALUES ({values})"), rows)


def _rewrite_runs(conn: Connection, runs: Iterable[tuple[int, int]]) -> None:
    """Rewrite these (ticket, run)s from the tables: a run's comments found by their place, in the index of ids."""
    members = text(
        f"{_COMMENT} WHERE x.ticket_id = :ticket AND x.id IN "
        "(SELECT id FROM comments WHERE ticket_id = :ticket ORDER BY id LIMIT :run OFFSET :skip) ORDER BY x.id"
    )
    delete = text(f"DELETE FROM ticket_search WHERE {_key(conn)} = :key")
    for ticket_id, run in sorted(set(runs)):
        conn.execute(delete, {"key": run_key(ticket_id, run)})
        own = _own(conn, [ticket_id]) if run == 0 else {}
        rows = conn.execute(members, {"ticket": ticket_id, "run": RUN, "skip": run * RUN}).all()
        _insert(conn, _rows(own, rows, run))


# A new ticket's run 0 as `_rows` makes it without comments, in one statement (on the fast path: with the queued
# savepoint start, one round trip), per database (the key's column).
_NEW = {
    name: Fast(
        text(
            f"INSERT INTO ticket_search ({key}, {', '.join(COLUMNS)}) SELECT :key, t.title, t.description, '', '', '', "
            f"{_REQUESTER}, t.id, '', '' FROM tickets AS t JOIN users AS u ON u.id = t.requester_id WHERE t.id = :id"
        ),
        sqlite=name == "sqlite",
    )
    for name, key in (("sqlite", "rowid"), ("postgresql", "piece"))
}


def index_new(conn: Connection, ticket_id: int) -> None:
    """Index a ticket made in the caller's unit of work: nothing of it is indexed yet, and each comment or file
    it gets comes with an event of its own that indexes that piece afterwards, so its own fields are all."""
    _NEW[conn.dialect.name].rowcount(conn, {"key": run_key(ticket_id, 0), "id": ticket_id})


def index_pieces(conn: Connection, piece: Piece, ids: Sequence[int]) -> None:
    """Rewrite what these tickets' own fields, comments or attachments (by their ids) are in, from the tables."""
    if not ids:
        return
    if piece == "attachment":
        _files(conn, "x.id IN :ids", ids)
    elif piece == "ticket":
        _rewrite_runs(conn, [(ticket_id, 0) for ticket_id in ids])
    else:
        place = text(
            "SELECT DISTINCT x.ticket_id, (SELECT count(*) FROM comments AS o "
            "WHERE o.ticket_id = x.ticket_id AND o.id < x.id) / :run AS run FROM comments AS x WHERE x.id IN :ids"
        ).bindparams(_ids("ids"))
        _rewrite_runs(conn, [(int(t), int(r)) for t, r in conn.execute(place, {"ids": list(ids), "run": RUN})])


def drop_files(conn: Connection, attachment_ids: Sequence[int]) -> None:
    """Delete the rows of files that are gone (`reindex` rewrites only the files still there)."""
    if attachment_ids:
        delete = text(f"DELETE FROM ticket_search WHERE {_key(conn)} IN :keys").bindparams(_ids("keys"))
        conn.execute(delete, {"keys": [2 * i + 1 for i in attachment_ids]})


def purge_deleted(conn: Connection) -> None:
    """Make deleted text unrecoverable from the index: FTS5 keeps a deleted row's terms in its older segments
    until they are merged, so SQLite's index is merged whole (a cost proportional to the index: erasure only).
    PostgreSQL's rows hold their own tsvectors, gone with the row."""
    if conn.dialect.name == "sqlite":
        conn.execute(text("INSERT INTO ticket_search (ticket_search) VALUES ('optimize')"))


def reindex(conn: Connection, ticket_ids: Sequence[int] | None = None) -> int:
    """Rewrite every row of `ticket_ids` (None: of every ticket) from the tables; how many tickets it wrote."""
    key = _key(conn)
    if ticket_ids is None:
        conn.execute(text("DELETE FROM ticket_search"))
        comments = conn.execute(text(f"{_COMMENT} ORDER BY x.ticket_id, x.id")).all()
    elif not ticket_ids:
        return 0
    else:
        # Every run the tickets had, even one a merge emptied: a ticket's run keys are one range.
        for ticket_id in ticket_ids:
            span = {"start": run_key(ticket_id, 0), "end": run_key(ticket_id + 1, 0)}
            conn.execute(text(f"DELETE FROM ticket_search WHERE {key} >= :start AND {key} < :end"), span)
        on = text(f"{_COMMENT} WHERE x.ticket_id IN :ids ORDER BY x.ticket_id, x.id").bindparams(_ids("ids"))
        comments = conn.execute(on, {"ids": list(ticket_ids)}).all()
    own = _own(conn, ticket_ids)
    _insert(conn, _rows(own, comments))
    _files(conn, "x.ticket_id IN :ids", ticket_ids)
    return len(own)
