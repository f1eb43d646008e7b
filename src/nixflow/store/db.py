"""Engines, the unit of work (`Tx`) and read access.

Services are plain synchronous functions of a `Tx`; `store.writer` commits them.
Reads never take the writer: they use their own connections (WAL on SQLite).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

import anyio.to_thread
from psycopg.types import string as pg_string
from sqlalchemy import Connection, Engine, Insert, Table, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, OperationalError

from nixflow.domain import catalogue
from nixflow.domain.envelope import EventContext, EventRecord
from nixflow.domain.errors import ServiceUnavailable
from nixflow.domain.values import Priority
from nixflow.ids import uuid7
from nixflow.observe import tracing
from nixflow.store import event_log, pipeline

T = TypeVar("T")
log = logging.getLogger(__name__)

# PostgreSQL: the name of the savepoint a `Tx.savepoint` closed without releasing it yet, kept in the pooled
# connection's `info` (see `Tx.savepoint`).
_RELEASE = "nixflow_release_pending"

Clock = Callable[[], datetime]


def sync_url(url: str) -> str:
    """The URL of the synchronous driver for a configured database URL."""
    if url.startswith("sqlite+aiosqlite"):
        return "sqlite" + url[len("sqlite+aiosqlite") :]
    if url.startswith("postgresql+asyncpg"):
        return "postgresql+psycopg" + url[len("postgresql+asyncpg") :]
    return url


def _nul_safe_text(adapters: Any) -> None:
    """PostgreSQL refuses NUL characters in text (SQLite keeps them): send each as U+FFFD, the replacement
    character, so text that SQLite would store is stored, and looked up, on PostgreSQL too, never a 500."""

    class Text(pg_string.StrDumperUnknown):
        def dump(self, obj: str) -> Any:
            return super().dump(obj.replace("\x00", "\ufffd"))

    class Binary(pg_string.StrBinaryDumper):
        def dump(self, obj: str) -> Any:
            return super().dump(obj.replace("\x00", "\ufffd"))

    adapters.register_dumper(str, Binary)
    adapters.register_dumper(str, Text)  # last: the one used when psycopg may choose (as before, text)


def make_engine(url: str, *, immediate: bool = False) -> Engine:
    """An engine; on SQLite with WAL and, for the writer, `BEGIN IMMEDIATE`."""
    url = sync_url(url)
    if not url.startswith("sqlite"):
        pg = create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True, pool_timeout=10)

        @event.listens_for(pg, "connect")
        def _on_connect_pg(dbapi_connection: Any, _record: Any) -> None:
            _nul_safe_text(dbapi_connection.adapters)

        @event.listens_for(pg, "begin")
        def _on_begin_pg(conn: Connection) -> None:
            conn.info.pop(_RELEASE, None)  # what a previous transaction on this connection left is gone with it
            pipeline.discard(conn.info)

        @event.listens_for(pg, "savepoint")
        def _on_savepoint_pg(conn: Connection, _name: str) -> None:
            pending = conn.info.pop(_RELEASE, None)  # SQLAlchemy's own savepoint must not be released by ours
            if pending is not None:
                pipeline.queue(conn.info, [f"RELEASE SAVEPOINT {pending}"])
            pipeline.send_queued(conn)

        pipeline.install(pg)

        @event.listens_for(pg, "release_savepoint")
        @event.listens_for(pg, "rollback_savepoint")
        def _on_savepoint_end_pg(conn: Connection, _name: str, _context: Any) -> None:
            conn.info.pop(_RELEASE, None)  # ours, closed within SQLAlchemy's savepoint, ends with it

        return pg
    # Enough pooled connections for every reader thread, so none is opened per request.
    engine = create_engine(
        url, connect_args={"check_same_thread": False, "timeout": 30}, pool_size=1 if immediate else 40, max_overflow=0
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's begin() emit our BEGIN, not pysqlite's implicit one.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        # Freed content is zeroed, so an erased person's bytes do not linger in free space (Debian builds it on).
        cursor.execute("PRAGMA secure_delete=ON")
        if immediate:  # the writer: checkpoints run beside it (store.writer.Checkpointer), not in its commits
            cursor.execute("PRAGMA wal_autocheckpoint=0")
        cursor.close()

    begin = "BEGIN IMMEDIATE" if immediate else "BEGIN"

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.connection.dbapi_connection.execute(begin)  # type: ignore[union-attr]

    return engine


def insert_returning_id(conn: Connection, statement: Insert, values: dict[str, Any] | None = None) -> int:
    """Execute an INSERT (values apart, so its compiled form is cached) and return the new row's primary key."""
    key = conn.execute(statement, values).inserted_primary_key
    assert key is not None
    return int(key[0])


def upsert(conn: Connection, table: Table) -> Any:
    """An INSERT with this database's ON CONFLICT clauses (`on_conflict_do_nothing`, `on_conflict_do_update`)."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def unavailable(exc: BaseException) -> bool:
    """Whether an exception means the database cannot be reached (a 503, not a bug)."""
    if isinstance(exc, OperationalError):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


@dataclass
class Outbox:
    """What a unit of work has emitted and handled, written to the log in bulk when it ends (`Tx.flush`)."""

    events: list[EventRecord] = field(default_factory=list)
    receipts: list[tuple[str, str]] = field(default_factory=list)  # (handler, event_id)
    written_events: int = 0
    written_receipts: int = 0
    savepoints: int = 0  # how deeply savepoints are nested now
    born: set[tuple[str, str]] = field(default_factory=set)  # aggregates this unit made (`Tx.created`)


@dataclass
class Tx:
    """One unit of work: a connection inside a transaction, and the events it emits."""

    conn: Connection
    ctx: EventContext
    now: datetime
    outbox: Outbox = field(default_factory=Outbox)
    # Configuration read once per unit of work (rules, SLA policies): see `memoized`.
    memo: dict[Hashable, Any] = field(default_factory=dict)

    @property
    def events(self) -> list[EventRecord]:
        """The events emitted in this unit of work so far, in the order they were emitted."""
        return self.outbox.events

    def memoized(self, key: Hashable, compute: Callable[[], T]) -> T:
        """`compute()` once per unit of work; services that change what it read call `memo.clear()`."""
        if key not in self.memo:
            self.memo[key] = compute()
        value: T = self.memo[key]
        return value

    def created(self, aggregate_type: str, aggregate_id: int | str) -> None:
        """This unit of work made the aggregate (its row is new, its id never used before): the log holds no
        earlier event of it, so the inline dispatch need not look (`events.dispatch`)."""
        self.outbox.born.add((aggregate_type, str(aggregate_id)))

    def made(self, aggregate_type: str, aggregate_id: int | str) -> bool:
        """Whether this unit of work made the aggregate (`created`)."""
        return (aggregate_type, str(aggregate_id)) in self.outbox.born

    def emit(
        self,
        event_type: str,
        *,
        aggregate_type: str,
        aggregate_id: int | str,
        data: dict[str, Any],
        priority: Priority | None = None,
        aggregate_version: int | None = None,
    ) -> EventRecord:
        """Validate an event against the catalogue and add it to this unit of work's outbox.

        `aggregate_version` is the version of the aggregate this change produced: it identifies the
        emission, so a repeat of the same emission can be told from a second, identical change.
        """
        spec = catalogue.spec_for(event_type)
        metadata: dict[str, Any] = {
            "correlation_id": self.ctx.correlation_id,
            "causation_id": self.ctx.causation_id,
            "source": self.ctx.source,
            "version": 1,
            "actor_id": self.ctx.actor_id,
            "depth": self.ctx.depth,
        }
        if self.ctx.rule_id is not None:
            metadata["rule_id"] = self.ctx.rule_id
            if self.ctx.rule_name is not None:
                metadata["rule_name"] = self.ctx.rule_name
        if aggregate_version is not None:
            metadata["aggregate_version"] = aggregate_version
        record = EventRecord(
            event_id=uuid7(),
            type=event_type,
            category=spec.category,
            priority=priority or spec.default_priority,
            timestamp=self.now,
            aggregate_type=aggregate_type,
            aggregate_id=str(aggregate_id),
            data=catalogue.validate_data(event_type, data),
            metadata=metadata,
        )
        self.outbox.events.append(record)
        tracing.emitted(record)
        return record

    def record_receipt(self, handler: str, event_id: str) -> None:
        """Note that `handler` handled `event_id`; written with the unit of work's events."""
        self.outbox.receipts.append((handler, event_id))

    def flush(self) -> None:
        """Append the events and receipts not yet written to the log, in bulk, in this transaction."""
        box = self.outbox
        event_log.append_many(self.conn, box.events[box.written_events :])
        box.written_events = len(box.events)
        event_log.record_receipts(self.conn, box.receipts[box.written_receipts :], self.now)
        box.written_receipts = len(box.receipts)

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """A nested transaction: on error its writes and the events it emitted are undone, and the error raised.

        Issued on the driver's connection: SQLAlchemy's nested-transaction bookkeeping cost more than the
        two statements themselves, on the hottest path there is (every handler, every rule). On PostgreSQL,
        where each statement is a round trip, a savepoint that ends well is not released at once: the release
        goes with the next savepoint's start, and a start goes with the next statement (`store.pipeline`: in
        one pipeline with a `Fast` statement, one round trip for all), or is left to COMMIT, which ends every
        savepoint anyway; a savepoint inside which nothing was sent is never sent at all. Releasing late
        changes nothing a later statement sees: a savepoint only marks where a rollback may return to, and
        nothing returns to a closed one. A rollback to an enclosing savepoint ends the closed ones within it,
        so it forgets their release.
        """
        box = self.outbox
        marks = len(box.events), len(box.receipts)
        driver = self.conn.connection.dbapi_connection
        assert driver is not None
        late = self.conn.dialect.name == "postgresql"  # release late and start with the next statement (above)
        info = self.conn.info
        # Named by depth (savepoints nest strictly), so the same few statements recur and the driver's
        # statement cache prepares each once.
        box.savepoints += 1
        name = f"nf_sp{box.savepoints}"
        pending = info.pop(_RELEASE, None) if late else None
        start = [f"RELEASE SAVEPOINT {pending}"] if pending else []
        start.append(f"SAVEPOINT {name}")
        place = pipeline.queue(info, start) if late else None
        try:
            if place is None:
                driver.execute(start[0])
            yield
        except BaseException:
            if place is not None and pipeline.withdraw(info, place):
                if pending:  # nothing was sent: the savepoint before is still to be released
                    info[_RELEASE] = pending
            else:
                self._roll_back_to(name, info if late else None)
            del box.events[marks[0] :], box.receipts[marks[1] :]
            box.written_events = min(box.written_events, marks[0])
            box.written_receipts = min(box.written_receipts, marks[1])
            self.memo.clear()  # what was read or cached inside may be undone
            raise
        else:
            if place is not None and pipeline.withdraw(info, place):
                if pending:
                    info[_RELEASE] = pending
            elif late:
                info[_RELEASE] = name  # releasing it releases any closed one within it too
            else:
                driver.execute(f"RELEASE SAVEPOINT {name}")
        finally:
            box.savepoints -= 1

    def _roll_back_to(self, name: str, info: pipeline.Info | None) -> None:
        """Undo a savepoint's writes; with the connection's `info` (PostgreSQL) its release is left for later."""
        try:
            driver: Any = self.conn.connection.dbapi_connection
            if info is not None:  # what is still queued was started within it: moot; a closed one within ends too
                pipeline.discard(info)
                driver.execute(f"ROLLBACK TO SAVEPOINT {name}")
                info[_RELEASE] = name
            else:
                driver.execute(f"ROLLBACK TO SAVEPOINT {name}")
                driver.execute(f"RELEASE SAVEPOINT {name}")
        except Exception as undo:  # the connection is gone: the transaction fails whole; the cause stands
            log.debug("savepoint %s not rolled back: %s", name, undo)

    def child(self, ctx: EventContext) -> Tx:
        """The same transaction acting in another context (a handler reacting to an event)."""
        return Tx(self.conn, ctx, self.now, self.outbox, self.memo)

    def at(self, now: datetime) -> Tx:
        """The same transaction acting as of another instant (periodic jobs run "as of" the scheduler's time)."""
        return Tx(self.conn, self.ctx, now, self.outbox, self.memo)


class Database:
    """Read access and the engines; reads run on worker threads, never on the writer."""

    def __init__(self, url: str) -> None:
        self.url = sync_url(url)
        self.is_sqlite = self.url.startswith("sqlite")
        self.write_engine = make_engine(self.url, immediate=True)
        self.read_engine = make_engine(self.url) if self.is_sqlite else self.write_engine

    def read_sync(self, fn: Callable[[Connection], T]) -> T:
        """Run `fn` on a read connection."""
        try:
            with self.read_engine.connect() as conn:
                return fn(conn)
        except Exception as exc:
            if unavailable(exc):
                raise ServiceUnavailable("database unavailable") from exc
            raise

    async def read(self, fn: Callable[[Connection], T]) -> T:
        """Run `fn` on a read connection, off the event loop."""
        return await anyio.to_thread.run_sync(self.read_sync, fn)

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.write_engine.dispose()
        if self.read_engine is not self.write_engine:
            self.read_engine.dispose()
