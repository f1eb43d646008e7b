"""The report projection: a handler that keeps the `report_*` read models in step with the log.

Each event it subscribes to costs one or two statements, run inline in the unit of work of the event
(its receipt commits with them). `rebuild` feeds the same functions the whole log.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, delete, exists, insert, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite

from nixflow.domain.envelope import EventRecord
from nixflow.events.bus import Handler
from nixflow.reports import daily
from nixflow.store.db import Tx
from nixflow.store.fast import Fast
from nixflow.store.tables import report_sla, report_spells, report_staff, report_tickets

HANDLER_NAME = "reports.project"
STAFF_ROLES = ("agent", "admin")

Projector = Callable[[Connection, datetime, Mapping[str, Any]], None]


def _ticket(data: Mapping[str, Any]) -> Any:
    return report_tickets.c.ticket_id == int(data["ticket_id"])


def _since_created(conn: Connection, at: datetime) -> Any:
    """The microseconds from the ticket's creation to `at`, as the UPDATE's value."""
    return daily.microseconds(conn, literal(at, type_=report_tickets.c.created_at.type), report_tickets.c.created_at)


def _set(conn: Connection, data: Mapping[str, Any], **values: Any) -> None:
    conn.execute(update(report_tickets).where(_ticket(data)).values(**values))


def _upsert(conn: Connection, table: Any) -> Any:
    return (postgresql if conn.dialect.name == "postgresql" else sqlite).insert(table)


# Every ticket's creation, priority and assignment pass here: these statements are built once, on the fast path.
_CREATED = Fast(insert(report_tickets))
_FIRST_SPELL = Fast(insert(report_spells))
_ASSIGN = {
    column: Fast(
        update(report_tickets)
        .where(report_tickets.c.ticket_id == bindparam("b_ticket_id"))
        .values({column: bindparam("b_value", type_=report_tickets.c[column].type)})
    )
    for column in ("category_id", "priority", "assignee_id")
}


def _assign(conn: Connection, data: Mapping[str, Any], column: str, value: Any) -> None:
    ticket_id = int(data["ticket_id"])
    _reassign(conn, ticket_id, daily.key_of(conn, ticket_id), column, value)


def _reassign(conn: Connection, ticket_id: int, old: daily.Key | None, column: str, value: Any) -> daily.Key | None:
    """Set one part of the ticket's key (`old`: its key now, None when the reports do not know the ticket) and
    move its counters; its new key. Nothing is written when the key has that value already."""
    new = None if old is None else daily.replaced(old, column, value)
    if old is None or new != old:
        _ASSIGN[column].rowcount(conn, {"b_ticket_id": ticket_id, "b_value": value})
    if old is not None and new is not None:
        daily.moved(conn, ticket_id, old, new)
    return new


def created(conn: Connection, at: datetime, data: Mapping[str, Any]) -> None:
    _created(conn, at, int(data["ticket_id"]), _key_at_creation(data))


def _key_at_creation(data: Mapping[str, Any]) -> daily.Key:
    return (data.get("category_id"), None, str(data["priority"]))


def _created(conn: Connection, at: datetime, ticket_id: int, key: daily.Key) -> None:
    category_id, assignee_id, priority = key
    row = {"ticket_id": ticket_id, "created_at": at, "category_id": category_id, "priority": priority}
    row |= {"assignee_id": assignee_id, "first_reply_at": None, "first_reply_by": None}
    _CREATED.rowcount(conn, {**row, "resolved_at": None, "reopens": 0, "first_reply_us": None, "resolution_us": None})
    _FIRST_SPELL.rowcount(conn, {"ticket_id": ticket_id, "spell": 0, "opened_at": at, "solved_at": None})
    day = daily.day_of(at)
    daily.tally(conn, key, [(day, "created", 1), (day, "opened", 1)])


# The event types that change a ticket's key, and the part of the key each one sets.
_KEY_CHANGES = {"ticket.category_changed": "category_id", "ticket.priority_changed": "priority",
                "ticket.assigned": "assignee_id"}  # fmt: skip
_NEW_VALUE = {"category_id": "new_category_id", "priority": "new_priority", "assignee_id": "assignee_id"}
_KEY_MEMO = "report.key"  # (_KEY_MEMO, ticket id) → the ticket's key in the read models, in a unit of work


def _key_as_left(events: Sequence[EventRecord], record: EventRecord) -> daily.Key:
    """A new ticket's key as the later events of its unit of work leave it (the rules ran first and emitted them).

    Filed there at once, the counters need no move when those events are projected: each finds the key already
    set (a move costs four statements; an automated ticket had two). Whatever order the events are then projected
    in, by this unit of work or a retry, the counters end under the same key as one move after another."""
    key, ticket_id = _key_at_creation(record.data), record.data["ticket_id"]
    for later in events:
        column = _KEY_CHANGES.get(later.type)
        if column is not None and later.data["ticket_id"] == ticket_id:
            key = daily.replaced(key, column, later.data[_NEW_VALUE[column]])
    return key


def commented(conn: Connection, at: datetime, data: Mapping[str, Any]) -> None:
    if data["internal"]:
        return
    author = int(data["author_id"])
    by_staff = exists().where(report_staff.c.user_id == author, report_staff.c.role.in_(STAFF_ROLES))
    conn.execute(
        update(report_tickets)
        .where(_ticket(data), report_tickets.c.first_reply_at.is_(None), by_staff)
        .values(first_reply_at=at, first_reply_by=author, first_reply_us=_since_created(conn, at))
    )


def resolved(conn: Connection, at: datetime, data: Mapping[str, Any]) -> None:
    _set(conn, data, resolved_at=at, resolution_us=_since_created(conn, at))
    open_spell = and_(report_spells.c.ticket_id == int(data["ticket_id"]), report_spells.c.solved_at.is_(None))
    if conn.execute(update(report_spells).where(open_spell).values(solved_at=at)).rowcount:
        _tally(conn, data, [(daily.day_of(at), "solved", 1)])


def reopened(conn: Connection, at: datetime, data: Mapping[str, Any]) -> None:
    _set(conn, data, resolved_at=None, resolution_us=None, reopens=report_tickets.c.reopens + 1)
    opened_at = literal(at, type_=report_spells.c.opened_at.type)
    spell = select(report_tickets.c.ticket_id, report_tickets.c.reopens, opened_at).where(_ticket(data))
    if conn.execute(insert(report_spells).from_select(["ticket_id", "spell", "opened_at"], spell)).rowcount:
        _tally(conn, data, [(daily.day_of(at), "opened", 1), (daily.day_of(at), "reopens", 1)])


def _tally(conn: Connection, data: Mapping[str, Any], tallies: list[daily.Tally]) -> None:
    """Count facts of a ticket under its current key (none when the reports do not know the ticket)."""
    key = daily.key_of(conn, int(data["ticket_id"]))
    if key is not None:
        daily.tally(conn, key, tallies)


_SLA_COLUMNS = ("ticket_id", "target", "outcome", "due_at", "at")


@functools.cache
def _sla_statement(dialect: str, outcome: str) -> Fast:
    """The report_sla upsert of one outcome, built once per dialect (an SLA tick runs it for every alarm)."""
    row = {c: bindparam(f"b_{c}", type_=report_sla.c[c].type) for c in _SLA_COLUMNS}
    statement = (postgresql if dialect == "postgresql" else sqlite).insert(report_sla).values(**row)
    keys = [report_sla.c.ticket_id, report_sla.c.target]
    upsert = (
        statement.on_conflict_do_nothing()
        if outcome == "met"
        else statement.on_conflict_do_update(
            index_elements=keys, set_={"outcome": statement.excluded.outcome, "at": statement.excluded.at}
        )
    )
    return Fast(upsert, sqlite=dialect != "postgresql")


_SLA_BEFORE = Fast(
    select(report_sla.c.outcome, report_sla.c.at).where(
        report_sla.c.ticket_id == bindparam("b_ticket_id"), report_sla.c.target == bindparam("b_target")
    )
)


def _sla_params(at: datetime, data: Mapping[str, Any], outcome: str) -> dict[str, Any]:
    """The `report_sla` upsert's parameters for one outcome."""
    due = data["due_at"]
    if not isinstance(due, datetime):
        due = datetime.fromisoformat(str(due).replace("Z", "+00:00"))
    row = {"ticket_id": int(data["ticket_id"]), "target": data["target"], "outcome": outcome, "due_at": due, "at": at}
    return {f"b_{k}": v for k, v in row.items()}


def _sla_tallies(params: Mapping[str, Any], before: Mapping[str, Any] | None) -> list[daily.Tally] | None:
    """What an outcome adds to the counters, the one it replaces taken off; None when the first outcome stands."""
    target, outcome = params["b_target"], params["b_outcome"]
    if before is not None and outcome == "met":
        return None  # the first outcome stands; a breach replaces it
    undone = [] if before is None else [(daily.day_of(before["at"]), f"{target}_{before['outcome']}", -1)]
    return [*undone, (daily.day_of(params["b_at"]), f"{target}_{outcome}", 1)]


def _sla(conn: Connection, at: datetime, data: Mapping[str, Any], outcome: str) -> None:
    params = _sla_params(at, data, outcome)
    before = _SLA_BEFORE.first(conn, {"b_ticket_id": params["b_ticket_id"], "b_target": params["b_target"]})
    _sla_statement(conn.dialect.name, outcome).rowcount(conn, params)
    tallies = _sla_tallies(params, before)
    if tallies is not None:
        _tally(conn, data, tallies)


def _sla_many(conn: Connection, records: Sequence[EventRecord], outcome: str) -> None:
    """`_sla` for the outcomes of distinct tickets (an SLA tick's breaches): a read, an upsert and a tally in all."""
    rows = [_sla_params(r.timestamp, r.data, outcome) for r in records]
    ids = [row["b_ticket_id"] for row in rows]
    g = report_sla.c
    found = conn.execute(select(g.ticket_id, g.target, g.outcome, g.at).where(g.ticket_id.in_(ids)))
    befores = {(int(f.ticket_id), f.target): {"outcome": f.outcome, "at": f.at} for f in found}
    _sla_statement(conn.dialect.name, outcome).many(conn, rows)
    keys = daily.keys_of(conn, ids)
    keyed = []
    for row in rows:
        tallies = _sla_tallies(row, befores.get((row["b_ticket_id"], row["b_target"])))
        key = keys.get(row["b_ticket_id"])
        if tallies is not None and key is not None:
            keyed.append((key, tallies))
    daily.tally_many(conn, keyed)


def sla_met(conn: Connection, at: datetime, data: Mapping[str, Any]) -> None:
    _sla(conn, at, data, "met")


def sla_breached(conn: Connection, at: datetime, data: Mapping[str, Any]) -> None:
    _sla(conn, at, data, "breached")


def merged(conn: Connection, at: datetime, data: Mapping[str, Any]) -> None:
    """A merged ticket leaves the figures: its survivor counts the request once (the source's `ticket.merged`)."""
    if data["source_id"] != data["ticket_id"]:
        return
    for table in (report_sla, report_spells, report_tickets):
        conn.execute(delete(table).where(table.c.ticket_id == int(data["ticket_id"])))


def user_created(conn: Connection, at: datetime, data: Mapping[str, Any]) -> None:
    statement = _upsert(conn, report_staff).values(user_id=int(data["user_id"]), role=data["role"])
    conn.execute(statement.on_conflict_do_update(index_elements=[report_staff.c.user_id], set_={"role": data["role"]}))


def role_changed(conn: Connection, at: datetime, data: Mapping[str, Any]) -> None:
    user = report_staff.c.user_id == int(data["user_id"])
    conn.execute(update(report_staff).where(user).values(role=data["new_role"]))


PROJECTORS: Mapping[str, Projector] = {
    "ticket.created": created,
    "ticket.category_changed": lambda conn, _at, d: _assign(conn, d, "category_id", d["new_category_id"]),
    "ticket.priority_changed": lambda conn, _at, d: _assign(conn, d, "priority", d["new_priority"]),
    "ticket.assigned": lambda conn, _at, d: _assign(conn, d, "assignee_id", d["assignee_id"]),
    "ticket.commented": commented,
    "ticket.resolved": resolved,
    "ticket.reopened": reopened,
    "ticket.merged": merged,
    "sla.met": sla_met,
    "sla.breached": sla_breached,
    "user.created": user_created,
    "user.role_changed": role_changed,
}


def project(tx: Tx, record: EventRecord) -> None:
    """The live handler: apply one event to the read models (a new ticket under its key as its unit of work
    leaves it)."""
    if record.type == "ticket.created":
        key = _key_as_left(tx.events, record)
        _created(tx.conn, record.timestamp, int(record.data["ticket_id"]), key)
        tx.memo[(_KEY_MEMO, int(record.data["ticket_id"]))] = key
        return
    column = _KEY_CHANGES.get(record.type)
    if column is None:
        PROJECTORS[record.type](tx.conn, record.timestamp, record.data)
        if record.type == "ticket.merged":  # the ticket may have left the read models
            tx.memo.pop((_KEY_MEMO, int(record.data["ticket_id"])), None)
        return
    # The key this unit of work filed the ticket under, if it did (a rollback to a savepoint clears the memo):
    # an automated ticket's priority and assignment events then find it set already and write nothing.
    ticket_id = int(record.data["ticket_id"])
    place = (_KEY_MEMO, ticket_id)
    old = tx.memo[place] if place in tx.memo else daily.key_of(tx.conn, ticket_id)
    tx.memo[place] = _reassign(tx.conn, ticket_id, old, column, record.data[_NEW_VALUE[column]])


def project_many(tx: Tx, records: Sequence[EventRecord]) -> None:
    """The live handler on several SLA outcomes of one type about distinct tickets (`Handler.many`)."""
    _sla_many(tx.conn, records, records[0].type.removeprefix("sla."))


def handler() -> Handler:
    """The projection, on the events of `PROJECTORS` (`nixflow/event_handlers.py` subscribes it)."""
    return Handler(HANDLER_NAME, project, many=project_many, many_types=frozenset({"sla.met", "sla.breached"}))
