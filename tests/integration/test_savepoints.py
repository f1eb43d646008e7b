"""A unit of work's savepoints and `Fast` statements, in both modes. On PostgreSQL a savepoint that ends well is
released late (with the next savepoint's start, or by COMMIT), a savepoint starts with the next statement (a `Fast`
one: in one pipeline on psycopg), and nothing a caller can see may differ: the rows stored and read, and an error
of any pipelined statement reaching the caller inside its own savepoint."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import bindparam, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from nixflow.domain.envelope import EventContext
from nixflow.domain.errors import ServiceUnavailable
from nixflow.ids import utcnow
from nixflow.store.db import Database, Tx
from nixflow.store.fast import Fast
from nixflow.store.tables import categories, users
from nixflow.store.writer import Writer, make_writer

CTX = EventContext(correlation_id="savepoint-test", actor_id=None, source="test")
AT = datetime(2030, 1, 11, 15, 30, 1, 123456, tzinfo=UTC)
_PERSON = {"role": "agent", "active": True, "can_approve": False, "password_hash": None, "created_at": AT,
           "updated_at": AT, "signature": None, "erased_at": None, "locale": None, "timezone": None}  # fmt: skip
ADD_USER = Fast(insert(users).values({c: bindparam(c) for c in ("email", "name", "fields", *_PERSON)}))
READ_USER = Fast(select(users.c.name, users.c.fields, users.c.created_at).where(users.c.email == bindparam("b")))
RENAME = Fast(update(users).where(users.c.email == bindparam("b")).values(name=bindparam("name")))
ADD_CATEGORY = Fast(insert(categories).values(name=bindparam("name"), created_at=bindparam("created_at")))


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


def _person(email: str) -> dict[str, Any]:
    return {"email": email, "name": "Ünïcode 'quoted'", "fields": {"floor": 3, "tags": ["a", "b"]}, **_PERSON}


def test_fast_statements_store_and_read_what_sqlalchemy_does(writer: Writer) -> None:
    def unit(tx: Tx) -> tuple[Any, ...]:
        with tx.savepoint():  # its start goes in the pipeline of the first statement inside it
            fast_id = ADD_USER.inserted_id(tx.conn, _person("fast@example.com"))
        tx.conn.execute(insert(users), _person("core@example.com"))
        read = [READ_USER.first(tx.conn, {"b": e}) for e in ("fast@example.com", "core@example.com")]
        core = tx.conn.execute(select(users.c.id, users.c.fields).where(users.c.email == "fast@example.com")).one()
        renamed = RENAME.rowcount(tx.conn, {"b": "core@example.com", "name": "Renamed"})
        return fast_id, read, core, renamed, READ_USER.all(tx.conn, {"b": "nobody@example.com"})

    fast_id, read, core, renamed, nothing = writer.run_sync(unit, CTX)
    assert core.id == fast_id and core.fields == {"floor": 3, "tags": ["a", "b"]}
    expected = {"name": "Ünïcode 'quoted'", "fields": {"floor": 3, "tags": ["a", "b"]}, "created_at": AT}
    assert read == [expected, expected]
    assert renamed == 1 and nothing == []


def test_a_constraint_violation_in_a_pipelined_statement_undoes_its_savepoint_only(writer: Writer) -> None:
    def unit(tx: Tx) -> None:
        with tx.savepoint():
            ADD_CATEGORY.inserted_id(tx.conn, {"name": "kept", "created_at": tx.now})
        with pytest.raises(IntegrityError), tx.savepoint():  # started in the same pipeline as the failing insert
            ADD_CATEGORY.inserted_id(tx.conn, {"name": "kept", "created_at": tx.now})
        with tx.savepoint():
            ADD_CATEGORY.inserted_id(tx.conn, {"name": "after", "created_at": tx.now})

    writer.run_sync(unit, CTX)
    names = writer.db.read_sync(lambda conn: set(conn.execute(select(categories.c.name)).scalars()))
    assert names == {"kept", "after"}


def test_a_constraint_violation_in_a_pipelined_statement_fails_the_unit(writer: Writer) -> None:
    def unit(tx: Tx) -> None:
        with tx.savepoint():
            ADD_CATEGORY.inserted_id(tx.conn, {"name": "twice", "created_at": tx.now})
        with tx.savepoint():
            ADD_CATEGORY.inserted_id(tx.conn, {"name": "twice", "created_at": tx.now})

    with pytest.raises(IntegrityError):
        writer.run_sync(unit, CTX)
    names = writer.db.read_sync(lambda conn: set(conn.execute(select(categories.c.name)).scalars()))
    assert names == set()


@pytest.mark.parametrize("mode", [pytest.param("scaleout", marks=[pytest.mark.postgres])])
def test_a_connection_killed_before_a_pipeline_is_unavailable_and_the_pool_recovers(writer: Writer, mode: str) -> None:
    def unit(tx: Tx) -> None:
        ADD_CATEGORY.inserted_id(tx.conn, {"name": "lost", "created_at": tx.now})
        pid = tx.conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        with writer.db.write_engine.connect() as other:
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        with tx.savepoint():  # its start and the insert: one pipeline on a dead connection
            ADD_CATEGORY.inserted_id(tx.conn, {"name": "never", "created_at": tx.now})

    with pytest.raises(ServiceUnavailable):
        writer.run_sync(unit, CTX)
    writer.run_sync(lambda tx: ADD_CATEGORY.inserted_id(tx.conn, {"name": "after", "created_at": tx.now}), CTX)
    names = writer.db.read_sync(lambda conn: set(conn.execute(select(categories.c.name)).scalars()))
    assert names == {"after"}
