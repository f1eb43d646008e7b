"""A unit of work's savepoints, in both modes: on PostgreSQL a savepoint that ends well is released late (with the
next savepoint's start, or by COMMIT), and nothing a caller can see may differ from releasing it at once."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.exc import IntegrityError

from nixflow.domain.envelope import EventContext
from nixflow.domain.errors import ServiceUnavailable
from nixflow.ids import utcnow
from nixflow.store.db import Database, Tx
from nixflow.store.tables import categories
from nixflow.store.writer import Writer, make_writer

CTX = EventContext(correlation_id="savepoint-test", actor_id=None, source="test")


@pytest.fixture
def writer(database_url: str) -> Iterator[Writer]:
    db = Database(database_url)
    made = make_writer(db, utcnow)
    yield made
    made.close()
    db.dispose()


def _add(tx: Tx, name: str) -> None:
    tx.conn.execute(insert(categories).values(name=name, created_at=tx.now))


def _names(writer: Writer) -> set[str]:
    return set(writer.db.read_sync(lambda conn: conn.execute(select(categories.c.name)).scalars().all()))


def _failing(tx: Tx, work: Callable[[], None]) -> None:
    with pytest.raises(RuntimeError), tx.savepoint():
        work()
        raise RuntimeError("a handler failed")


def test_a_failed_savepoint_undoes_its_closed_inner_ones_and_the_unit_goes_on(writer: Writer) -> None:
    def unit(tx: Tx) -> None:
        with tx.savepoint():
            _add(tx, "kept before")

        def inner_then_fail() -> None:
            with tx.savepoint():  # closed well, then undone by its enclosing savepoint's rollback
                _add(tx, "inner")
            _add(tx, "outer")

        _failing(tx, inner_then_fail)
        with tx.savepoint():  # starts after a rollback that ended the inner savepoint: nothing left to release
            _add(tx, "kept after")
        _failing(tx, lambda: _add(tx, "undone last"))

    writer.run_sync(unit, CTX)
    assert _names(writer) == {"kept before", "kept after"}


def test_sqlalchemys_own_savepoint_after_a_closed_one_keeps_working(writer: Writer) -> None:
    def unit(tx: Tx) -> None:
        with tx.savepoint():
            _add(tx, "first")
        with tx.conn.begin_nested():  # as kb.translations does; a late release must not end it
            with tx.savepoint():
                _add(tx, "nested in both")
            _add(tx, "nested")
        with pytest.raises(IntegrityError), tx.conn.begin_nested():
            _add(tx, "first")  # undone alone by SQLAlchemy's savepoint
        _add(tx, "last")

    writer.run_sync(unit, CTX)
    assert _names(writer) == {"first", "nested in both", "nested", "last"}


def test_a_constraint_violation_after_closed_savepoints_fails_the_whole_unit(writer: Writer) -> None:
    writer.run_sync(lambda tx: _add(tx, "taken"), CTX)

    def unit(tx: Tx) -> None:
        for name in ("a", "b"):
            with tx.savepoint():
                _add(tx, name)
        _add(tx, "taken")

    with pytest.raises(IntegrityError):
        writer.run_sync(unit, CTX)
    assert _names(writer) == {"taken"}
    writer.run_sync(lambda tx: _add(tx, "after"), CTX)  # the connection went back to the pool usable
    assert _names(writer) == {"taken", "after"}


@pytest.mark.parametrize("mode", [pytest.param("scaleout", marks=[pytest.mark.postgres])], indirect=False)
def test_a_connection_killed_mid_unit_is_unavailable_and_the_pool_recovers(writer: Writer, mode: str) -> None:
    def unit(tx: Tx) -> Any:
        with tx.savepoint():
            _add(tx, "lost")
        pid = tx.conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        with writer.db.write_engine.connect() as other:
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        with tx.savepoint():
            _add(tx, "never")

    with pytest.raises(ServiceUnavailable):
        writer.run_sync(unit, CTX)
    writer.run_sync(lambda tx: _add(tx, "after the outage"), CTX)
    assert _names(writer) == {"after the outage"}
