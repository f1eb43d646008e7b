"""The hottest statements, run on the driver's cursor.

SQLAlchemy spends about 50 µs around each statement it executes (execution context, parameter and result
processing, events); `sqlite3` runs the same statement in 3-5 µs. A unit of work runs some twenty statements, so
on SQLite that bookkeeping was a quarter of the writer's time. A `Fast` statement is still written with SQLAlchemy
Core, compiled once for SQLite with the same bind and result processors SQLAlchemy would apply (so values are
stored and read exactly as through `Connection.execute`), and then executed on the connection's `sqlite3` cursor
inside the same transaction. Driver errors are raised as SQLAlchemy's exceptions, as `Connection.execute` would.

On PostgreSQL a statement costs a network round trip. There a single-row statement (`first`, `all`, `rowcount`,
`inserted_id`) is compiled once for the connection's psycopg dialect, with its bind and result processors, and
run on the psycopg connection in pipeline mode together with the savepoint starts the unit of work queued before
it (`store.db.queued`): one round trip for all of them, where each was one. Errors come back at the pipeline's
sync, inside the caller's savepoint, raised as SQLAlchemy's exceptions (a lost connection an `OperationalError`,
a 503). `many` and statements whose parameters leave a column to SQLAlchemy go through `Connection.execute`
(psycopg pipelines `executemany` by itself). Both paths run under the whole test suite (it runs in both modes).

Only plain statements qualify: named bind parameters, no expanding `IN`, no Python-side column defaults left
out of an INSERT (SQLAlchemy fills those in at execution, which this path skips; `Fast` refuses them when built).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
from sqlalchemy import Connection, Dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.expression import Executable

from nixflow.store import pipeline
from nixflow.store.tables import UTCDateTime

_SQLITE = sqlite_dialect.dialect()

Processor = Callable[[Any], Any] | None


@dataclass(frozen=True)
class _Compiled:
    sql: str
    names: tuple[str, ...]
    binds: tuple[Processor, ...]
    defaults: dict[str, Any]  # values written into the statement itself (`role == "agent"`)
    keys: tuple[str, ...]
    results: tuple[Processor, ...]


def _to_text(value: datetime | None) -> str | None:
    """`UTCDateTime` as SQLAlchemy's SQLite dialect stores it (naive UTC, microseconds), without its `%` formatting."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime")
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def _from_text(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value).replace(tzinfo=UTC)


def _bind_processor(type_: Any) -> Processor:
    # The timestamps of every event and ticket: SQLAlchemy's processor for them is the costliest of all.
    return _to_text if isinstance(type_, UTCDateTime) else type_.dialect_impl(_SQLITE).bind_processor(_SQLITE)


def _result_processor(type_: Any) -> Processor:
    return _from_text if isinstance(type_, UTCDateTime) else type_.dialect_impl(_SQLITE).result_processor(_SQLITE, None)


def _compile(statement: Any) -> _Compiled:
    compiled: Any = statement.compile(dialect=_SQLITE)
    if compiled.literal_execute_params or compiled.post_compile_params:
        raise ValueError("a Fast statement takes plain bind parameters only (no expanding IN)")
    prefetched = [c.key for c in (*compiled.insert_prefetch, *compiled.update_prefetch)]
    if prefetched:  # SQLAlchemy computes these in Python at execution, which this path skips
        raise ValueError(f"a Fast statement must give {', '.join(prefetched)} (Python-side defaults are not applied)")
    names = tuple(compiled.positiontup or ())
    binds = tuple(_bind_processor(compiled.binds[name].type) for name in names)
    defaults = {name: compiled.binds[name].effective_value for name in names if not compiled.binds[name].required}
    keys: list[str | None] = []
    results: list[Processor] = []
    for column in getattr(statement, "exported_columns", ()):  # a SELECT's columns, or what DML RETURNs
        keys.append(column.key)
        results.append(_result_processor(column.type))
    if None in keys or len(set(keys)) != len(keys):
        raise ValueError(f"a Fast statement's columns need distinct names (label them): {keys}")
    named = tuple(str(k) for k in keys)
    return _Compiled(compiled.string, names, binds, defaults, named, tuple(results))


@dataclass(frozen=True)
class _OnPostgres:
    sql: str  # psycopg's `%(name)s` placeholders
    binds: tuple[tuple[str, str, Processor], ...]  # (parameter, placeholder, bind processor)
    defaults: dict[str, Any]
    required: frozenset[str]
    keys: tuple[str, ...]
    results: tuple[Processor, ...]


def _compile_pg(statement: Any, dialect: Dialect) -> _OnPostgres | None:
    """`statement` compiled for the connection's psycopg dialect, or None where only SQLAlchemy runs it right."""
    compiled: Any = statement.compile(dialect=dialect)
    prefetched = (*compiled.insert_prefetch, *compiled.update_prefetch)
    if compiled.literal_execute_params or compiled.post_compile_params or prefetched or compiled.positional:
        return None
    binds = tuple(
        (bind.key, name, bind.type.dialect_impl(dialect).bind_processor(dialect))
        for bind, name in compiled.bind_names.items()
    )
    defaults = {bind.key: bind.effective_value for bind in compiled.bind_names if not bind.required}
    required = frozenset(bind.key for bind in compiled.bind_names if bind.required)
    columns = list(getattr(statement, "exported_columns", ()))
    keys = tuple(str(c.key) for c in columns)
    results = tuple(c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns)
    return _OnPostgres(compiled.string, binds, defaults, required, keys, results)


class Fast:
    """A Core statement run on the driver (sqlite3; psycopg, pipelined: see the module's note); parameters by name."""

    def __init__(self, statement: Executable, *, sqlite: bool = True) -> None:
        """`sqlite=False` for a statement built for another database (e.g. PostgreSQL's `ON CONFLICT`): it is
        then always run through `Connection.execute`."""
        self.statement = statement
        self._compiled = _compile(statement) if sqlite else None
        self._pg: dict[str, _OnPostgres | None] = {}  # by purpose: "" as written, "id" returning the new id

    def _on_pg(self, conn: Connection, params: Mapping[str, Any], purpose: str = "") -> _OnPostgres | None:
        if conn.dialect.name != "postgresql":
            return None
        if purpose not in self._pg:
            statement: Any = self.statement
            if purpose == "id":
                statement = statement.returning(*statement.table.primary_key.columns)
            self._pg[purpose] = _compile_pg(statement, conn.dialect)
        found = self._pg[purpose]
        return found if found is not None and found.required <= params.keys() else None

    def _run_pg(self, conn: Connection, c: _OnPostgres, params: Mapping[str, Any]) -> Any:
        """Run on the psycopg connection, in one pipeline with the statements the unit of work queued."""
        values = {
            name: value if process is None else process(value)
            for key, name, process in c.binds
            for value in (params[key] if key in params else c.defaults[key],)
        }
        driver: Any = conn.connection.dbapi_connection
        queued = pipeline.take_queued(conn.info)
        cursor = driver.cursor()
        try:
            if queued:
                with driver.pipeline():  # one round trip; an error of any of them is raised at its end
                    for plain in queued:
                        driver.execute(plain)
                    cursor.execute(c.sql, values)
            else:
                cursor.execute(c.sql, values)
        except psycopg.Error as exc:
            raise DBAPIError.instance(c.sql, values, exc, psycopg.Error, dialect=conn.dialect) from exc
        return cursor

    def _rows_pg(self, c: _OnPostgres, raw: Sequence[Sequence[Any]]) -> list[dict[str, Any]]:
        return [
            {
                key: value if process is None else process(value)
                for key, value, process in zip(c.keys, row, c.results, strict=True)
            }
            for row in raw
        ]

    def _direct(self, conn: Connection) -> bool:
        return self._compiled is not None and conn.dialect.name == "sqlite"

    def _values(self, params: Mapping[str, Any]) -> list[Any]:
        c = self._compiled
        assert c is not None
        given = (params[n] if n in params or n not in c.defaults else c.defaults[n] for n in c.names)
        pairs = zip(given, c.binds, strict=True)
        return [value if process is None else process(value) for value, process in pairs]

    def _on_driver(self, conn: Connection, *, values: Any, many: bool = False) -> sqlite3.Cursor:
        """Run the compiled SQL on the connection's `sqlite3` cursor; driver errors as SQLAlchemy raises them."""
        assert self._compiled is not None
        sql = self._compiled.sql
        driver: Any = conn.connection.dbapi_connection
        try:
            cursor: sqlite3.Cursor = driver.executemany(sql, values) if many else driver.execute(sql, values)
        except sqlite3.Error as exc:
            raise DBAPIError.instance(sql, values, exc, sqlite3.Error, dialect=conn.dialect) from exc
        return cursor

    def _run(self, conn: Connection, params: Mapping[str, Any]) -> sqlite3.Cursor:
        return self._on_driver(conn, values=self._values(params))

    def _rows(self, raw: Sequence[Sequence[Any]]) -> list[dict[str, Any]]:
        assert self._compiled is not None
        keys, processors = self._compiled.keys, self._compiled.results
        return [
            {
                key: value if process is None else process(value)
                for key, value, process in zip(keys, row, processors, strict=True)
            }
            for row in raw
        ]

    def rowcount(self, conn: Connection, params: Mapping[str, Any]) -> int:
        """Execute a DML statement; the number of rows it matched."""
        if not self._direct(conn):
            if (pg := self._on_pg(conn, params)) is not None:
                return int(self._run_pg(conn, pg, params).rowcount)
            return int(conn.execute(self.statement, dict(params)).rowcount)
        return int(self._run(conn, params).rowcount)

    def many(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> int:
        """Execute a DML statement once per row of parameters (`executemany`); the rows matched in all."""
        if not rows:
            return 0
        if not self._direct(conn):
            return int(conn.execute(self.statement, [dict(r) for r in rows]).rowcount)
        return int(self._on_driver(conn, values=[self._values(r) for r in rows], many=True).rowcount)

    def all(self, conn: Connection, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Execute a SELECT (or DML with RETURNING); its rows as dictionaries keyed by column key."""
        if not self._direct(conn):
            if (pg := self._on_pg(conn, params)) is not None:
                return self._rows_pg(pg, self._run_pg(conn, pg, params).fetchall())
            return [dict(r._mapping) for r in conn.execute(self.statement, dict(params))]
        return self._rows(self._run(conn, params).fetchall())

    def first(self, conn: Connection, params: Mapping[str, Any]) -> dict[str, Any] | None:
        """The first row of a SELECT, or None."""
        if not self._direct(conn):
            if (pg := self._on_pg(conn, params)) is not None:
                found = self._run_pg(conn, pg, params).fetchone()
                return None if found is None else self._rows_pg(pg, [found])[0]
            row = conn.execute(self.statement, dict(params)).first()
            return None if row is None else dict(row._mapping)
        found = self._run(conn, params).fetchone()
        return None if found is None else self._rows([found])[0]

    def inserted_id(self, conn: Connection, params: Mapping[str, Any]) -> int:
        """Execute a single-row INSERT; the new row's integer primary key."""
        if not self._direct(conn):
            if (pg := self._on_pg(conn, params, "id")) is not None:
                return int(self._run_pg(conn, pg, params).fetchone()[0])
            key = conn.execute(self.statement, dict(params)).inserted_primary_key
            assert key is not None
            return int(key[0])
        row_id = self._run(conn, params).lastrowid
        assert row_id is not None
        return int(row_id)
