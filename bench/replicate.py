"""Grow a NixFlow database past what the real write path does in reasonable time: by replicating, in SQL, a slice
that the real path grew (bench/growth.py).

The slice is grown for real to `block + TAIL` tickets, without the final settle at the real now (see
`bench.growth.grow`). Its first `block` tickets are then complete: created, escalated and breached, resolved two
days later or kept in the backlog, with every SLA alarm fired. The last `TAIL` (two days of tickets) are still
unresolved, as the newest tickets of any grown database are. To reach `block * blocks + TAIL` tickets:

1. the tail's rows leave the database (their counters go with them, by the counting triggers), and so do the
   block's events, to come back in time order with their copies';
2. the complete block is copied `blocks - 1` times after itself, each copy one INSERT ... SELECT per table,
   from the slice's own file (attached), ticket and notification ids shifted by a copy's
   span, every timestamp (columns, and inside JSON and text: due times, titles' `#id`) shifted by the
   block's simulated duration, event ids, correlation and causation ids given new unique uuid7s (the same old
   id gives the same new one in a copy, so causation chains and handler receipts stay linked), deduplication
   keys new unique ones; the events one INSERT ... SELECT a window of the block's duration, from every copy
   that has events in it, in time order, so `seq` follows time as the real path's does. The copies are SQL
   alone, no Python call per row: the slice's JSON and text values are cut once (`_prepare`) at what moves in
   them into `temp.parts`, put back per copy by `group_concat` with SQLite's `strftime` and `printf`;
3. the tail comes back after the last copy, shifted the same way, so the newest two days are as the real
   path leaves them;
4. what is kept per key rather than per ticket is rebuilt: `report_days` from the report tables (the same SQL
   as migration 0030 fills it), the round-robin counter; `event_counts` and `ticket_counts` followed the
   inserts through their triggers; the full-text index got its rows by the INSERTs into `ticket_search`.

Then `grow` at the final size runs the periodic jobs at the real now until nothing is due, as after a real
growth. A table holding rows for the slice's tickets that this does not know is refused (not silently left
out), so a new read model shows up here as an error.
"""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import JSON

from bench.growth import RATE, UNIT, grow
from nixflow.store.tables import REPORT_DAY_MEASURES, UTCDateTime, metadata

BLOCK = 2_000  # tickets a copy: 2 simulated days
TAIL = 2 * RATE  # tickets still open: the last two simulated days
_SEARCH_KEY_SHIFT = 21  # ticket_index.run_key: a ticket's full-text rows are keyed (ticket id << 21) + 2 * run
_SQLITE_SECONDS = "%Y-%m-%d %H:%M:%S"  # a UTCDateTime column's text but its fraction
_ISO_SECONDS = "%Y-%m-%dT%H:%M:%S"
_ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)")
_TICKET_REF = re.compile(r"#(\d+)")
_UUID_KEYS = ("event_id", "correlation_id", "causation_id")
# Tables replicated row by row: their rows of the slice's tickets and how to select them from `src`.
_TICKET_OF_EVENT = "CAST(json_extract(data, '$.ticket_id') AS INTEGER)"
_TICKET_EVENTS = f"aggregate_type IN ('ticket', 'notification') AND {_TICKET_OF_EVENT}"
_OWN = {
    "tickets": "id",
    "events": _TICKET_EVENTS,
    "notifications": "ticket_id",
    "report_tickets": "ticket_id",
    "report_spells": "ticket_id",
    "report_sla": "ticket_id",
}
# The key of a copied table's rows in `temp.parts`, and the text (not JSON) columns whose values have holes.
_KEYS = {"tickets": "id", "events": "seq", "notifications": "id"}
_TEXTS = {("notifications", "title"), ("notifications", "body")}
# Kept per key, not per ticket: rebuilt (report_days, round_robin_counters) or kept by triggers.
_REBUILT = {"report_days", "event_counts", "ticket_counts", "round_robin_counters"}


@dataclass(frozen=True)
class Piece:
    """Tickets `lo`..`hi` of the slice copied `shift` blocks later; `salt` keeps its ids apart from others'."""

    lo: int
    hi: int
    shift: int
    salt: int
    tickets: int  # the offset of its ticket ids
    notifications: int  # the offset of its notification ids

    def params(self, seconds: int) -> dict[str, int | str]:
        # The formats are parameters, not literals: `_copy_events` renames every `:name` of its SQL per piece.
        return {"t": self.tickets, "n": self.notifications, "j": self.salt, "lo": self.lo, "hi": self.hi,
                "m": f"+{self.shift * seconds} seconds", "sql": _SQLITE_SECONDS, "iso": _ISO_SECONDS}  # fmt: skip


# What a hole in a JSON or text value is: its value moves by a copy's ticket offset, notification offset, time
# shift, or (a uuid7, its 48-bit millisecond) by its salt.
_TICKET, _NOTIFICATION, _TIME, _UUID = 1, 2, 3, 4
_HOLE = re.compile(r'"@@V(\d+)@@"|@@S(\d+)@@')  # a hole standing for a whole JSON value, or inside a string
Part = tuple[str, int, int | None, str | None]  # text before the hole, its kind (0: none), number, text


def _parts(value: str, *, is_json: bool) -> list[Part]:
    """A JSON or text value as the literal text between its holes (json.dumps's spelling, as the real path's):
    ticket and notification ids, timestamps (ISO, also inside text), uuids, titles' `#id`."""
    holes: list[tuple[int, int | None, str | None]] = []

    def hole(kind: int, num: int | None, text: str | None, *, whole: bool) -> str:
        holes.append((kind, num, text))
        return f"@@{'V' if whole else 'S'}{len(holes) - 1}@@"

    def text(value: str, refs: bool) -> str:
        value = _ISO.sub(lambda m: hole(_TIME, None, m.group(0), whole=False), value)
        if not refs:
            return value
        return _TICKET_REF.sub(lambda m: "#" + hole(_TICKET, int(m.group(1)), None, whole=False), value)

    def walk(key: str, item: Any) -> Any:
        if isinstance(item, dict):
            return {k: walk(k, v) for k, v in item.items()}
        if isinstance(item, list):
            return [walk(key, v) for v in item]
        if isinstance(item, int) and not isinstance(item, bool):
            kind = {"ticket_id": _TICKET, "notification_id": _NOTIFICATION}.get(key)
            return hole(kind, item, None, whole=True) if kind else item
        if isinstance(item, str):
            if key in _UUID_KEYS or key.endswith("_event_id"):
                return hole(_UUID, *_uuid_head(item), whole=False)
            return text(item, key in ("title", "body"))
        return item

    spelled = json.dumps(walk("", json.loads(value))) if is_json else text(value, True)
    parts: list[Part] = []
    at = 0
    for match in _HOLE.finditer(spelled):
        kind, num, rest = holes[int(match.group(1) or match.group(2))]
        parts.append((spelled[at : match.start()], kind, num, rest))
        at = match.end()
    parts.append((spelled[at:], 0, None, None))
    return parts


def _uuid_head(value: str) -> tuple[int, str]:
    """A uuid7's 48-bit millisecond and the rest of its text."""
    return int(value[:8] + value[9:13], 16), value[13:]


# A copy's new uuid7 for an old one: the same random bits, the millisecond moved by the copy's salt; so it is
# unique unless two old ids shared all 74 random bits (the events' unique index would refuse that).
_NEW_UUID = "printf('%08x-%04x', ({n} + :j) >> 16, ({n} + :j) & 65535) || {rest}"
# A deduplication key (a sha256 hex digest): its first 60 bits moved by the salt, unique the same way.
_NEW_DEDUP = "printf('%015x', {n} + :j) || {rest}"
_UUID_OF = f"(SELECT {_NEW_UUID.format(n='i.num', rest='i.rest')} FROM temp.ids i WHERE i.old = {{}})"
_PART = (
    "p.lit || CASE p.kind WHEN 1 THEN p.num + :t WHEN 2 THEN p.num + :n "
    "WHEN 3 THEN strftime(:iso, substr(p.txt, 1, 19), :m) || substr(p.txt, 20) "
    f"WHEN 4 THEN {_NEW_UUID.format(n='p.num', rest='p.txt')} ELSE '' END"
)


def _prepare(conn: sqlite3.Connection) -> None:
    """Once per replication, in Python: the slice's JSON and text values cut at their holes (`temp.parts`), its
    uuids and deduplication keys as numbers (`temp.ids`); the copies are then SQL alone."""
    conn.execute("CREATE TEMP TABLE parts (col TEXT, rid INTEGER, pos INTEGER, lit TEXT, kind INTEGER, "
                 "num INTEGER, txt TEXT, PRIMARY KEY (col, rid, pos)) WITHOUT ROWID")  # fmt: skip
    for table, key in _KEYS.items():
        for column in metadata.tables[table].columns:
            is_json = isinstance(column.type, JSON)
            if not is_json and (table, column.name) not in _TEXTS:
                continue
            col = f"{table}.{column.name}"
            rows = conn.execute(f'SELECT {key}, "{column.name}" FROM src.{table} WHERE "{column.name}" IS NOT NULL')
            parts = [(col, rid, pos, *part) for rid, value in rows.fetchall()
                     for pos, part in enumerate(_parts(value, is_json=is_json))]  # fmt: skip
            conn.executemany("INSERT INTO temp.parts VALUES (?, ?, ?, ?, ?, ?, ?)", parts)
    conn.execute("CREATE TEMP TABLE ids (old TEXT PRIMARY KEY, num INTEGER, rest TEXT) WITHOUT ROWID")
    columns = " UNION ".join(f"SELECT {c} FROM src.events" for c in (*_UUID_KEYS, "duplicate_of"))
    others = "UNION SELECT event_id FROM src.notifications UNION SELECT event_id FROM src.handler_receipts"
    uuids = conn.execute(f"{columns} {others}").fetchall()
    conn.executemany("INSERT INTO temp.ids VALUES (?, ?, ?)", sorted((u, *_uuid_head(u)) for (u,) in uuids if u))
    keys = conn.execute("SELECT DISTINCT dedup_key FROM src.events WHERE dedup_key IS NOT NULL").fetchall()
    conn.executemany("INSERT INTO temp.ids VALUES (?, ?, ?)", sorted((k, int(k[:15], 16), k[15:]) for (k,) in keys))


def _time(name: str) -> str:
    """A UTC time column moved by a copy's shift (`:m`), its fraction of a second kept."""
    return f"strftime(:sql, {name}, :m) || substr({name}, 20)"


def _column(table: str, name: str, kind: Any, key: str) -> str:
    """The SQL that gives a copied row's column (`:t` ticket offset, `:n` notification offset, `:m` the time
    modifier, `:j` salt); `key` is the source row's in `temp.parts`."""
    if (table, name) == ("tickets", "id") or name == "ticket_id":
        return f"{name} + :t"
    if (table, name) == ("notifications", "id"):
        return "id + :n"
    if (table, name) == ("events", "aggregate_id"):
        return "CAST(CAST(aggregate_id AS INTEGER) + CASE aggregate_type WHEN 'ticket' THEN :t ELSE :n END AS TEXT)"
    if name == "dedup_key":
        return f"(SELECT {_NEW_DEDUP.format(n='i.num', rest='i.rest')} FROM temp.ids i WHERE i.old = dedup_key)"
    if name in _UUID_KEYS or name == "duplicate_of":
        return _UUID_OF.format(name)
    if name == "handled_at":  # when a handler ran: the real now of the growth, not simulated time
        return name
    if isinstance(kind, UTCDateTime):
        return _time(name)
    if isinstance(kind, JSON) or (table, name) in _TEXTS:
        # The parts in their key's order: the primary key's, the only way SQLite reads them by (col, rid).
        return f"(SELECT group_concat({_PART}, '') FROM temp.parts p WHERE p.col = '{table}.{name}' AND p.rid = {key})"
    return f'"{name}"'


def _copy_statements() -> list[str]:
    """INSERT ... SELECT from `src` of the rows of tickets `:lo`..`:hi`, shifted: a statement a table but the log."""
    statements = []
    for name, owner in _OWN.items():
        if name == "events":  # in time order over all copies: `_copy_events`
            continue
        table = metadata.tables[name]
        key = f"src.{name}.{_KEYS[name]}" if name in _KEYS else ""
        select = ", ".join(_column(name, c.name, c.type, key) for c in table.columns)
        quoted = ", ".join(f'"{c.name}"' for c in table.columns)
        rows = f"FROM src.{name} WHERE {owner} BETWEEN :lo AND :hi"
        statements.append(f"INSERT INTO main.{name} ({quoted}) SELECT {select} {rows}")
    receipts = (
        "INSERT INTO main.handler_receipts (handler, event_id, handled_at) "
        f"SELECT r.handler, {_UUID_OF.format('r.event_id')}, r.handled_at FROM src.handler_receipts r "
        f"JOIN src.events e ON e.event_id = r.event_id WHERE e.{_TICKET_EVENTS} BETWEEN :lo AND :hi"
    )
    fields = "title, description, comments, notes, attachments, requester"
    search = (
        f"INSERT INTO main.ticket_search (rowid, {fields}, ticket_id, comment_ids, note_ids) "
        f"SELECT rowid + (:t << {_SEARCH_KEY_SHIFT}), {fields}, ticket_id + :t, comment_ids, note_ids "
        "FROM src.ticket_search WHERE ticket_id BETWEEN :lo AND :hi"
    )
    return [*statements, receipts, search]


def _copy_events(conn: sqlite3.Connection, pieces: list[Piece], seconds: int) -> None:
    """The pieces' events in time order, so `seq` follows the log's time as the real path's does: a window of
    the block's duration at a time, each piece's events that fall in it (a ticket resolved two days after it
    was opened falls in a later window than its creation), ordered by time, then by their order in the slice."""
    conn.execute(
        "CREATE TEMP TABLE block_events AS SELECT *, "
        f"(CAST(strftime('%s', timestamp) AS INTEGER) - :begin) / :seconds AS k, {_TICKET_OF_EVENT} AS ticket "
        "FROM src.events WHERE aggregate_type IN ('ticket', 'notification')",
        {"begin": _epoch(conn.execute("SELECT created_at FROM src.tickets WHERE id = 1").fetchone()[0]),
         "seconds": seconds},
    )  # fmt: skip
    conn.execute("CREATE INDEX temp.block_events_k ON block_events (k, ticket)")
    last = conn.execute("SELECT max(k) FROM temp.block_events").fetchone()[0]
    columns = [c for c in metadata.tables["events"].columns if c.name != "seq"]
    select = ", ".join(f'{_column("events", c.name, c.type, "block_events.seq")} AS "{c.name}"' for c in columns)
    quoted = ", ".join(f'"{c.name}"' for c in columns)
    for window in range(max(p.shift for p in pieces) + last + 1):
        parts, params = [], {}
        for i, piece in enumerate(pieces):
            if 0 <= window - piece.shift <= last:
                parts.append(
                    f"SELECT {select}, {_time('timestamp')} AS o1, seq AS o2 FROM temp.block_events "
                    f"WHERE k = :k AND ticket BETWEEN :lo AND :hi".replace(":", f":p{i}_")
                )
                params.update({f"p{i}_{k}": v for k, v in piece.params(seconds).items()})
                params[f"p{i}_k"] = window - piece.shift
        if parts:
            union = " UNION ALL ".join(parts)
            conn.execute(f"INSERT INTO main.events ({quoted}) SELECT {quoted} FROM ({union}) ORDER BY o1, o2", params)


def _epoch(value: str) -> int:
    return int(datetime.fromisoformat(value).replace(tzinfo=UTC).timestamp())


def _refuse_unknown(conn: sqlite3.Connection) -> None:
    """Every table with rows for tickets must be one this copies or rebuilds."""
    known = {*_OWN, *_REBUILT, "handler_receipts", "report_staff"}
    for table in metadata.sorted_tables:
        if table.name in known or "ticket_id" not in table.c:
            continue
        if conn.execute(f'SELECT 1 FROM src."{table.name}" LIMIT 1').fetchone():
            raise RuntimeError(f"replication does not know how to copy {table.name}, which the slice fills")


def _delete_tail(conn: sqlite3.Connection, lo: int, hi: int) -> None:
    conn.execute(
        f"DELETE FROM main.handler_receipts WHERE event_id IN (SELECT event_id FROM main.events "
        f"WHERE {_TICKET_EVENTS} BETWEEN ? AND ?)",
        (lo, hi),
    )
    conn.execute("DELETE FROM main.ticket_search WHERE ticket_id BETWEEN ? AND ?", (lo, hi))
    for name, owner in reversed(_OWN.items()):
        conn.execute(f"DELETE FROM main.{name} WHERE {owner} BETWEEN ? AND ?", (lo, hi))


def _report_days(conn: sqlite3.Connection) -> None:
    """`report_days` from the report tables: migration 0030's fill, per UTC day and current key."""
    measures = REPORT_DAY_MEASURES

    def facts(at: str, source: str, **values: str) -> str:
        cells = ", ".join(f"{values.get(m, '0')} AS {m}" for m in measures)
        return (f"SELECT CAST(strftime('%s', {at}) AS INTEGER) / 86400 AS day, t.category_id, t.assignee_id, "
                f"t.priority, {cells} FROM {source}")  # fmt: skip

    spells = "report_spells s JOIN report_tickets t ON t.ticket_id = s.ticket_id"
    sla = "report_sla g JOIN report_tickets t ON t.ticket_id = g.ticket_id"
    outcome = "CASE WHEN g.target = '{}' AND g.outcome = '{}' THEN 1 ELSE 0 END"
    union = " UNION ALL ".join((
        facts("t.created_at", "report_tickets t", created="1"),
        facts("s.opened_at", spells, opened="1", reopens="CASE WHEN s.spell > 0 THEN 1 ELSE 0 END"),
        facts("s.solved_at", f"{spells} WHERE s.solved_at IS NOT NULL", solved="1"),
        facts("g.at", sla, **{f"{t}_{o}": outcome.format(t, o)
                              for t in ("first_response", "resolution") for o in ("met", "breached")}),
    ))  # fmt: skip
    sums = ", ".join(f"sum({m})" for m in measures)
    conn.execute("DELETE FROM main.report_days")
    conn.execute(
        f"INSERT INTO main.report_days (day, category_id, assignee_id, priority, {', '.join(measures)}) "
        f"SELECT day, COALESCE(category_id, -1), COALESCE(assignee_id, -1), priority, {sums} "
        f"FROM ({union}) f GROUP BY 1, 2, 3, 4"
    )


def replicate(path: Path, slice_path: Path, *, block: int, blocks: int) -> int:
    """Turn `path` (a copy of `slice_path`, a real growth to `block + TAIL` tickets without the final settle)
    into `block * blocks + TAIL` tickets; return how many it holds."""
    if block % UNIT or block * 86_400 % RATE:
        raise ValueError(f"a block is whole units of work ({UNIT}) and whole seconds of simulated time")
    seconds = block * 86_400 // RATE
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA cache_size = -262144")  # 256 MiB: the events' indexes are updated all over
        conn.execute("PRAGMA temp_store = MEMORY")  # before any temp table: setting it drops them
        conn.execute("ATTACH DATABASE ? AS src", (str(slice_path),))
        have = conn.execute("SELECT count(*), max(id) FROM src.tickets").fetchone()
        if have != (block + TAIL, block + TAIL):
            raise ValueError(f"the slice holds {have[0]} tickets (ids to {have[1]}), not {block} + {TAIL}")
        _refuse_unknown(conn)
        _prepare(conn)
        span = int(conn.execute("SELECT max(id) FROM src.notifications").fetchone()[0] or 0)
        assigned = conn.execute("SELECT count(*) FROM src.tickets WHERE id <= ? AND assignee_id IS NOT NULL",
                                (block,)).fetchone()[0]  # fmt: skip
        statements = _copy_statements()
        # No journal while it builds (a statement a transaction, autocommit): each page is written once, not to
        # the WAL and again by its checkpoint; a replication that stops half-way leaves a database to throw away,
        # not a slice. The file goes back to WAL at the end, as the real path leaves it.
        conn.execute("PRAGMA main.journal_mode = OFF")
        conn.execute("PRAGMA synchronous = OFF")
        _delete_tail(conn, block + 1, block + TAIL)
        # The block's events go too, to come back in time order with its copies' (same ids: salt 0).
        conn.execute(f"DELETE FROM main.events WHERE {_TICKET_EVENTS} BETWEEN 1 AND ?", (block,))
        conn.execute("UPDATE main.sqlite_sequence SET seq = (SELECT max(seq) FROM main.events) WHERE name = 'events'")
        # The block, its copies after it, then the tail after the last copy; salt j keeps each copy's ids apart.
        pieces = [Piece(1, block, j, j, j * block, j * span) for j in range(blocks)]
        pieces.append(Piece(block + 1, block + TAIL, blocks - 1, blocks, (blocks - 1) * block, blocks * span))
        for piece in pieces[1:]:
            for sql in statements:
                conn.execute(sql, piece.params(seconds))
        _copy_events(conn, pieces, seconds)
        _report_days(conn)
        later = {"v": (blocks - 1) * assigned, "m": f"+{(blocks - 1) * seconds} seconds", "sql": _SQLITE_SECONDS}
        rounds = f"UPDATE main.round_robin_counters SET value = value + :v, updated_at = {_time('updated_at')}"
        conn.execute(rounds, later)
        conn.execute("PRAGMA main.journal_mode = WAL")
        return int(conn.execute("SELECT count(*) FROM main.tickets").fetchone()[0])
    finally:
        conn.close()


def copy_database(source: Path, target: Path) -> None:
    """A consistent copy of a SQLite database (its WAL included), by SQLite's backup."""
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()


async def grow_replicated(base: Path, target: Path, *, start: datetime, to: int, block: int = BLOCK) -> int:
    """Grow `target` to `to` tickets by replication: `base` is the helpdesk before any ticket; the slice grown
    from it is kept beside it (`slice-<block>.db`) for the next size."""
    blocks, rest = divmod(to - TAIL, block)
    if rest or blocks < 2:
        raise ValueError(f"{to:,} tickets is not {TAIL:,} + a multiple (2 or more) of {block:,}")
    slice_path = base.with_name(f"slice-{block}.db")
    if not slice_path.exists():
        grown = base.with_name(f"slice-{block}.partial.db")
        copy_database(base, grown)
        await grow(_url(grown), start=start, to=block + TAIL, settle_now=False)
        copy_database(grown, slice_path)
        for leftover in grown.parent.glob(f"{grown.name}*"):
            leftover.unlink()
    copy_database(slice_path, target)
    replicate(target, slice_path, block=block, blocks=blocks)
    return await grow(_url(target), start=start, to=to)  # the final ticks at the real now, as a real growth's


def _url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"
