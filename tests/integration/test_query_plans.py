"""Every list the API offers reads a page by an index that matches its filter and order, on both engines.

The statements are the ones the routes run (`queue_page`, `event_log.page_of`, `inbox.page_of`), explained on a
database with enough rows (PostgreSQL: ANALYZEd) for the planner to choose: no sort of the whole match (SQLite:
no `USE TEMP B-TREE FOR ORDER BY`; PostgreSQL: no Sort node), and the index named for the filter in the plan.
A page then costs the same at 10,000 tickets as at 1,000,000.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, Select, text
from tests.plan_data import grow

from nixflow.domain.tickets import OPEN_STATUSES
from nixflow.domain.values import EventStatus, Role
from nixflow.notifications import inbox
from nixflow.services.ticket_order import Order
from nixflow.services.ticket_queries import TicketFilter, filter_from, queue_page
from nixflow.services.users import Principal
from nixflow.store import event_log
from nixflow.store.db import make_engine
from nixflow.store.migrate import upgrade

AGENT = Principal(id=2, role=Role.AGENT, email="agent2@example.com", name="Agent 2")
REQUESTER = Principal(id=20, role=Role.REQUESTER, email="user20@example.com", name="User 20")


@pytest.fixture
def grown(database_url: str) -> Iterator[Engine]:
    """A migrated database of a few thousand tickets, events and notifications, its statistics gathered."""
    engine = make_engine(database_url)
    upgrade(engine)
    with engine.begin() as conn:
        grow(conn)
        if conn.dialect.name == "postgresql":
            conn.execute(text("ANALYZE"))
    yield engine
    engine.dispose()


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def plan_problem(conn: Connection, statement: Select[Any], indexes: str, *, may_sort: bool = False) -> str | None:
    """Why the statement's plan does not read a page by one of `indexes` ("a|b"; None: it does). `may_sort`: the
    index bounds what is sorted (a requester's own tickets), so a sort is no problem, a walk of the table is."""
    problems = [_plan_problem(conn, statement, index, may_sort) for index in indexes.split("|")]
    return None if None in problems else problems[0]


def _plan_problem(conn: Connection, statement: Select[Any], index: str, may_sort: bool) -> str | None:
    sql = str(statement.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
    if conn.dialect.name == "postgresql":
        raw = conn.execute(text(f"EXPLAIN (FORMAT JSON) {sql}")).scalar_one()
        nodes = list(_nodes((json.loads(raw) if isinstance(raw, str) else raw)[0]["Plan"]))
        shown = [f"{n['Node Type']} {n.get('Index Name', '')}".strip() for n in nodes]
        if not may_sort and any("Sort" in n["Node Type"] for n in nodes):
            return f"sorts: {shown}"
        scans = {n.get("Index Name") for n in nodes if "Index" in n["Node Type"]}  # a bitmap index scan too
        if may_sort and any(n["Node Type"] == "Seq Scan" and n.get("Relation Name") == "tickets" for n in nodes):
            return f"walks the tickets: {shown}"
        return None if index in scans else f"no index scan of {index}: {shown}"
    details = [str(row[3]) for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")]
    if not may_sort and any("TEMP B-TREE FOR ORDER BY" in d for d in details):
        return f"sorts: {details}"
    table = index.removesuffix("_pkey")  # SQLite walks a table by its rowid, the primary key
    wanted = (f"SCAN {table}", f"SEARCH {table} USING INTEGER PRIMARY KEY") if index != table else ()
    by_index = any(f"INDEX {index} " in f"{d} " or d.startswith(wanted) for d in details)
    return None if by_index else f"not by {index}: {details}"


def _queue(flt: TicketFilter, viewer: Principal = AGENT, sort: str = "-id") -> Callable[[Connection], Select[Any]]:
    return lambda conn: queue_page(conn, viewer=viewer, flt=flt, limit=50, order=Order.parse(sort))


def _events(**fields: Any) -> Callable[[Connection], Select[Any]]:
    return lambda _conn: event_log.page_of(event_log.EventFilter(**fields), limit=50)


# (what the list is, its statement, the index that must serve it)
LISTS: list[tuple[str, Callable[[Connection], Select[Any]], str]] = [
    ("queue", _queue(TicketFilter()), "tickets_pkey"),
    ("queue ?status=new", _queue(filter_from({"status": "new"})), "ix_tickets_status|ix_tickets_open"),
    ("queue ?priority=high", _queue(filter_from({"priority": "high"})), "ix_tickets_priority"),
    ("queue ?assignee_id=", _queue(filter_from({"assignee_id": 3})), "ix_tickets_assignee_id"),
    (
        "queue ?unassigned=true",
        _queue(filter_from({"unassigned": True})),
        "ix_tickets_unassigned|ix_tickets_assignee_id",
    ),
    ("queue ?category_id=", _queue(filter_from({"category_id": 2})), "ix_tickets_category_id"),
    ("queue ?organization_id=", _queue(filter_from({"organization_id": 1})), "ix_tickets_organization_id"),
    ("queue ?sort=-updated_at", _queue(TicketFilter(), sort="-updated_at"), "ix_tickets_updated_at"),
    ("queue ?sort=due", _queue(TicketFilter(), sort="due"), "ix_tickets_resolution_due"),
    ("queue ?tag=", _queue(filter_from({"tag": "tag3"})), "ix_ticket_tags_tag"),
    ("queue ?field=", _queue(filter_from({"field": ["site:berlin"]})), "ix_ticket_field_values_text"),
    ("queue open view", _queue(TicketFilter(statuses=frozenset(OPEN_STATUSES))), "ix_tickets_open"),
    ("events", _events(), "events_pkey"),
    ("events ?type=", _events(type="notification.read"), "ix_events_event_type"),
    ("events ?status=", _events(status=EventStatus.FAILED), "events_pkey"),
    ("notifications", lambda _c: inbox.page_of(user_id=3, unread=False, limit=50), "ix_notifications_recipient_id"),
    (
        "notifications unread",
        lambda _c: inbox.page_of(user_id=3, unread=True, limit=50),
        "ix_notifications_unread",
    ),
]


def test_every_list_reads_its_page_by_an_index_without_sorting_the_match(grown: Engine) -> None:
    with grown.connect() as conn:
        problems = {name: plan_problem(conn, build(conn), index) for name, build, index in LISTS}
        # A requester's own and their organizations' shared tickets: two indexes, and a sort of what they may
        # see (not of the table, nor a walk of every ticket).
        own = queue_page(conn, viewer=REQUESTER, flt=TicketFilter(), limit=50)
        problems["queue of a requester"] = plan_problem(conn, own, "ix_tickets_requester_id", may_sort=True)
    failing = {name: p for name, p in problems.items() if p}
    assert failing == {}, "\n".join(f"{name}: {p}" for name, p in failing.items())


def test_only_events_with_a_transaction_id_are_in_the_txid_index(grown: Engine) -> None:
    """PostgreSQL's log tailer walks (txid, seq) by the partial index; SQLite's events (txid NULL, read by `seq`)
    pay no write for it."""
    with grown.connect() as conn:
        if conn.dialect.name == "postgresql":
            tail = event_log.tail_query(event_log.START, horizon=2**62, limit=500)
            assert plan_problem(conn, tail, "ix_events_txid_seq") is None
        else:
            partial = {row[1]: row[4] for row in conn.exec_driver_sql("PRAGMA index_list(events)")}
            assert partial["ix_events_txid_seq"] == 1
