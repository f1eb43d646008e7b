"""An automated ticket's unit of work reads no configuration and nothing it holds already.

"Core switch is down" in a category of three agents (the default rules raise its priority and assign it
round-robin; SLA, reports, search and notifications follow), opened as `POST /api/tickets` opens it. Every
statement the writer's connection sends is captured (SQLite's trace callback; libpq's protocol trace with
psycopg's prepared statements off, so each statement shows its text). With the configuration unchanged since the
ticket before, the unit of work reads the configuration tokens once and no configuration table; the report
projection does not read back the key it filed the ticket under, the assignment does not read again the agent
round-robin just picked among active agents, and the inline dispatch does not look in the log for earlier
unfinished events of the ticket the unit of work just made, nor the search index for its rows and comments.
Both modes.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from psycopg.pq import Trace
from sqlalchemy import event, text

from nixflow.bootstrap import NixFlow, build
from nixflow.config import Settings
from nixflow.domain.envelope import EventContext
from nixflow.domain.values import Role
from nixflow.ids import uuid7
from nixflow.services import tickets, users
from nixflow.store import ticket_index
from nixflow.store.db import Tx

CONFIGURATION = ("rules", "categories", "sla_policies", "organization_sla_policies", "calendars",
                 "calendar_versions", "field_definitions")  # fmt: skip


class Statements:
    """The SQL the writer's connections send, as text."""

    def __init__(self, app: NixFlow, folder: Path) -> None:
        self.sqlite: list[str] = []
        self.traces: list[tuple[Any, Path]] = []
        self.folder = folder

        @event.listens_for(app.db.write_engine, "connect")
        def _connected(dbapi_connection: Any, _record: Any) -> None:
            if hasattr(dbapi_connection, "set_trace_callback"):
                dbapi_connection.set_trace_callback(self.sqlite.append)
                return
            dbapi_connection.prepare_threshold = None  # every statement parsed, its text in the trace
            self.traces.append((dbapi_connection, folder / f"trace-{len(self.traces)}.txt"))

    def during(self, work: Any) -> str:
        """The text of every statement sent while `work()` runs."""
        self.sqlite.clear()
        for connection, path in self.traces:
            with path.open("w") as handle:
                connection.pgconn.trace(os.dup(handle.fileno()))
            connection.pgconn.set_trace_flags(Trace.SUPPRESS_TIMESTAMPS)
        try:
            work()
        finally:
            for connection, _path in self.traces:
                connection.pgconn.untrace()
        sent = list(self.sqlite)
        for _connection, path in self.traces:
            sent.append(path.read_text())  # statements' text as sent (Parse, Query), with the rest of the protocol
        return "\n".join(sent)


@pytest.fixture
def app(settings: Settings, tmp_path: Path) -> Iterator[tuple[NixFlow, Statements]]:
    made = build(settings)
    statements = Statements(made, tmp_path)
    try:
        yield made, statements
    finally:
        made.writer.close()
        made.db.dispose()


def _arrange(tx: Tx) -> tuple[Any, int]:
    agents = [
        users.create_user(tx, email=f"{n}@example.com", name=n, role=Role.AGENT, password_hash=None)["id"]
        for n in ("ana", "ben", "cleo")
    ]
    category = users.create_category(tx, name="Network", agent_ids=agents)["id"]
    made = users.create_user(tx, email="req@example.com", name="Req", role=Role.REQUESTER, password_hash=None)
    return users.principal_of(users.find_by_email(tx.conn, email=made["email"])), int(category)


def test_an_automated_ticket_reads_no_configuration_and_nothing_it_holds(app: tuple[NixFlow, Statements]) -> None:
    nixflow, statements = app
    requester, category = nixflow.writer.run_sync(_arrange, EventContext(correlation_id=uuid7(), actor_id=None,
                                                                         source="test"))  # fmt: skip

    def open_one() -> dict[str, Any]:
        def create(tx: Tx) -> Any:
            made = tickets.create(tx, requester=requester, title="Core switch is down", description="x",
                                  category_id=category)  # fmt: skip
            return tickets.committed(tx, ticket_id=int(made["id"]))

        ctx = EventContext(correlation_id=uuid7(), actor_id=requester.id, source="api")
        ticket: dict[str, Any] = nixflow.writer.run_sync(create, ctx)
        return ticket

    open_one()  # configuration read and cached by this process
    opened: list[dict[str, Any]] = []
    sent = statements.during(lambda: opened.append(open_one()))
    assert opened[0]["priority"] == "critical" and opened[0]["assignee_id"] is not None  # automated

    assert len(re.findall(r"\bFROM config_revisions\b", sent)) == 1, sent
    for table in CONFIGURATION:
        assert not re.search(rf"\bFROM {table}\b", sent), f"read {table}:\n{sent}"
    assert not re.search(r"SELECT report_tickets\.category_id, report_tickets\.assignee_id", sent), sent
    assert not re.search(r"SELECT users\.role, users\.active\s", sent), sent
    assert not re.search(r"SELECT DISTINCT events\.aggregate_type", sent), sent  # a new ticket has no earlier events
    assert not re.search(r"DELETE FROM ticket_search|FROM comments", sent), sent  # nor index rows, nor comments


def test_a_new_tickets_search_row_is_the_one_a_reindex_writes(app: tuple[NixFlow, Statements]) -> None:
    """The unit of work that made a ticket indexes its own fields in one statement; a reindex from the tables
    (what a retried delivery does) writes the same row."""
    nixflow, _ = app
    requester, category = nixflow.writer.run_sync(_arrange, EventContext(correlation_id=uuid7(), actor_id=None,
                                                                         source="test"))  # fmt: skip

    def create(tx: Tx) -> int:
        made = tickets.create(tx, requester=requester, title="Core switch is down", description="in rack 4",
                              category_id=category)  # fmt: skip
        return int(made["id"])

    ticket_id = nixflow.writer.run_sync(create, EventContext(correlation_id=uuid7(), actor_id=requester.id,
                                                             source="api"))  # fmt: skip

    def rows(conn: Any) -> list[tuple[Any, ...]]:
        key = "piece" if conn.dialect.name == "postgresql" else "rowid"
        query = f"SELECT {key}, {', '.join(ticket_index.COLUMNS)} FROM ticket_search WHERE ticket_id = :id"
        return [tuple(r) for r in conn.execute(text(query), {"id": ticket_id})]

    written = nixflow.db.read_sync(rows)
    assert len(written) == 1 and "Req req@example.com" in written[0][6], written  # the requester's name and address
    ctx = EventContext(correlation_id=uuid7(), actor_id=None, source="test")
    nixflow.writer.run_sync(lambda tx: ticket_index.reindex(tx.conn, [ticket_id]), ctx)
    assert nixflow.db.read_sync(rows) == written
