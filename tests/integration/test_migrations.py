"""Migrations build exactly the schema the code declares, and seed what a fresh database needs."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, insert, select, text
from tests.conftest import _admin_engine, _with_database, not_running, postgres_url

import nixflow.store.migrations
from nixflow.domain import catalogue
from nixflow.domain.envelope import EventRecord
from nixflow.domain.values import EventStatus, Priority
from nixflow.ids import uuid7
from nixflow.reports.rebuild import rebuild
from nixflow.store import event_log, event_stats
from nixflow.store.db import make_engine
from nixflow.store.migrate import upgrade
from nixflow.store.tables import (
    managed,
    metadata,
    report_days,
    report_sla,
    report_spells,
    report_staff,
    report_tickets,
    sla_policies,
    users,
)


def test_migrations_match_the_tables_and_seed_the_system_user(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}", immediate=True)
    upgrade(engine)
    upgrade(engine)  # idempotent: a second run changes nothing
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn, opts={"include_name": managed}), metadata) == []
        system = conn.execute(select(users).where(users.c.id == 0)).one()
        assert system.role == "system" and system.password_hash is None
        policies = {
            r.priority: (r.first_response_minutes, r.resolution_minutes, r.warning_percent)
            for r in conn.execute(select(sla_policies))
        }
    assert policies == {
        "critical": (15, 240, 80),
        "high": (60, 480, 80),
        "normal": (240, 1440, 80),
        "low": (480, 2880, 80),
    }
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An engine on a database no migration has touched yet (SQLite file, or a new PostgreSQL database)."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}", immediate=True)
        yield engine
        engine.dispose()
        return
    url = postgres_url()
    if url is None:
        not_running("PostgreSQL")
    name = f"nixflow_old_{uuid7().replace('-', '')[-16:]}"
    admin = _admin_engine(url)
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    engine = make_engine(_with_database(url, name))
    yield engine
    engine.dispose()
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


def _logged(event_type: str, at: datetime, data: dict[str, Any], status: EventStatus) -> EventRecord:
    return EventRecord(
        event_id=uuid7(),
        type=event_type,
        category=catalogue.spec_for(event_type).category,
        priority=Priority.NORMAL,
        timestamp=at,
        aggregate_type=event_type.split(".")[0],
        aggregate_id=str(data.get("ticket_id", data.get("user_id"))),
        data=data,
        metadata={"correlation_id": uuid7(), "source": "test", "version": 1, "depth": 0},
        status=status,
    )


def test_upgrading_a_database_from_before_the_reports_fills_them_from_its_log(empty_database: Engine) -> None:
    # Migration 0010 replays the log with its own frozen copy of the projection (not today's reports code).
    upgrade(empty_database, "0008")
    t0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    at = [t0 + timedelta(minutes=m) for m in range(9)]
    done = EventStatus.COMPLETED
    log = [
        _logged("ticket.created", at[0], {"ticket_id": 1, "priority": "high", "category_id": None}, done),
        _logged("ticket.commented", at[1], {"ticket_id": 1, "author_id": 6, "internal": False}, done),  # requester
        _logged("ticket.commented", at[2], {"ticket_id": 1, "author_id": 5, "internal": True}, done),  # internal
        _logged("ticket.commented", at[3], {"ticket_id": 1, "author_id": 5, "internal": False}, done),
        _logged("ticket.assigned", at[3], {"ticket_id": 1, "assignee_id": 5}, done),
        _logged("ticket.resolved", at[4], {"ticket_id": 1}, done),
        _logged("ticket.reopened", at[5], {"ticket_id": 1}, done),
        _logged("sla.met", at[6], {"ticket_id": 1, "target": "first_response", "due_at": at[7].isoformat()}, done),
        _logged("user.role_changed", at[7], {"user_id": 6, "new_role": "agent"}, done),
        _logged("ticket.created", at[8], {"ticket_id": 2, "priority": "low", "category_id": None}, EventStatus.PENDING),
    ]
    with empty_database.begin() as conn:
        for user_id, role in ((5, "agent"), (6, "requester")):
            conn.execute(
                insert(users).values(
                    id=user_id, email=f"u{user_id}@example.com", name="U", role=role, created_at=t0, updated_at=t0
                )
            )
        event_log.append_many(conn, log)
    upgrade(empty_database)
    with empty_database.connect() as conn:
        [ticket] = conn.execute(select(report_tickets)).all()  # ticket 2's creation is still on its way
        spells = conn.execute(select(report_spells).order_by(report_spells.c.spell)).all()
        [sla] = conn.execute(select(report_sla)).all()
        staff = dict(conn.execute(select(report_staff.c.user_id, report_staff.c.role)).all())
    assert (ticket.ticket_id, ticket.priority, ticket.assignee_id) == (1, "high", 5)
    assert (ticket.first_reply_at, ticket.first_reply_by) == (at[3], 5)  # the first public reply by staff
    assert (ticket.resolved_at, ticket.reopens) == (None, 1)
    assert (ticket.first_reply_us, ticket.resolution_us) == ((at[3] - at[0]) // timedelta(microseconds=1), None)
    assert [(s.spell, s.opened_at, s.solved_at) for s in spells] == [(0, at[0], at[4]), (1, at[5], None)]
    assert (sla.target, sla.outcome, sla.due_at, sla.at) == ("first_response", "met", at[7], at[6])
    assert staff == {5: "agent", 6: "agent"}
    # Migration 0030 counts what is already there: the log per hour, the report facts per day (as a rebuild would).
    with empty_database.begin() as conn:
        filled = sorted(tuple(r) for r in conn.execute(select(report_days)) if any(r[4:]))
        hours = event_stats.stats(conn)
        assert hours == event_stats.stats(conn, since=t0 - timedelta(days=1), until=at[8] + timedelta(days=1))
        assert hours["total"] == len(log) and hours["by_status"] == {"completed": 9, "pending": 1}
        rebuild(conn)
        assert sorted(tuple(r) for r in conn.execute(select(report_days)) if any(r[4:])) == filled
    assert [(r[4], r[5], r[6], r[7]) for r in filled] == [(1, 2, 1, 1)]  # created, opened, solved, reopened


def test_migrations_are_frozen_they_import_no_code_that_moves_on() -> None:
    # A migration runs against old databases forever: only the column types of `store.tables` may be shared.
    versions = Path(nixflow.store.migrations.__path__[0]) / "versions"
    imported = {
        (path.name, node.module if isinstance(node, ast.ImportFrom) else alias.name)
        for path in sorted(versions.glob("*.py"))
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    ours = {(name, module) for name, module in imported if module and module.startswith("nixflow")}
    assert {module for _, module in ours} == {"nixflow.store.tables"}, sorted(ours)
