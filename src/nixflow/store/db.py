"""Engines, the unit of work (`Tx`) and the writers that commit it.

Services are plain synchronous functions of a `Tx`. A writer decides how they
are committed: on SQLite one thread owns the only write connection and commits
the work of concurrent requests together (group commit, each request in its own
savepoint); on PostgreSQL each unit runs in its own pooled transaction. Reads
never take the writer: they use their own connections (WAL on SQLite).
"""

from __future__ import annotations

import concurrent.futures
import logging
import queue
import threading
from collections.abc import Callable, Hashable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

import anyio.to_thread
from sqlalchemy import Connection, Engine, Insert, create_engine, event
from sqlalchemy.exc import DBAPIError, OperationalError

from nixflow.domain.errors import ServiceUnavailable
from nixflow.domain.values import Priority
from nixflow.events import catalogue
from nixflow.events.envelope import EventContext, EventRecord
from nixflow.ids import uuid7
from nixflow.store import event_log

T = TypeVar("T")
log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
CommitListener = Callable[[Sequence[EventRecord]], None]


def sync_url(url: str) -> str:
    """The URL of the synchronous driver for a configured database URL."""
    if url.startswith("sqlite+aiosqlite"):
        return "sqlite" + url[len("sqlite+aiosqlite") :]
    if url.startswith("postgresql+asyncpg"):
        return "postgresql+psycopg" + url[len("postgresql+asyncpg") :]
    return url


def make_engine(url: str, *, immediate: bool = False) -> Engine:
    """An engine; on SQLite with WAL and, for the writer, `BEGIN IMMEDIATE`."""
    url = sync_url(url)
    if not url.startswith("sqlite"):
        return create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True, pool_timeout=10)
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
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def insert_returning_id(conn: Connection, statement: Insert, values: dict[str, Any] | None = None) -> int:
    """Execute an INSERT (values apart, so its compiled form is cached) and return the new row's primary key."""
    key = conn.execute(statement, values).inserted_primary_key
    assert key is not None
    return int(key[0])


def unavailable(exc: BaseException) -> bool:
    """Whether an exception means the database cannot be reached (a 503, not a bug)."""
    if isinstance(exc, OperationalError):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


@dataclass
class Tx:
    """One unit of work: a connection inside a transaction, and the events it emits."""

    conn: Connection
    ctx: EventContext
    now: datetime
    events: list[EventRecord] = field(default_factory=list)
    # Configuration read once per unit of work (rules, SLA policies): see `memoized`.
    memo: dict[Hashable, Any] = field(default_factory=dict)

    def memoized(self, key: Hashable, compute: Callable[[], T]) -> T:
        """`compute()` once per unit of work; services that change what it read call `memo.clear()`."""
        if key not in self.memo:
            self.memo[key] = compute()
        value: T = self.memo[key]
        return value

    def emit(
        self,
        event_type: str,
        *,
        aggregate_type: str,
        aggregate_id: int | str,
        data: dict[str, Any],
        priority: Priority | None = None,
    ) -> EventRecord:
        """Validate an event against the catalogue and append it to the log in this transaction."""
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
        event_log.append(self.conn, record)
        self.events.append(record)
        return record

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """A nested transaction: on error its writes and the events it emitted are undone, and the error raised."""
        mark = len(self.events)
        nested = self.conn.begin_nested()
        try:
            yield
        except BaseException:
            nested.rollback()
            del self.events[mark:]
            raise
        nested.commit()

    def child(self, ctx: EventContext) -> Tx:
        """The same transaction acting in another context (a handler reacting to an event)."""
        return Tx(self.conn, ctx, self.now, self.events, self.memo)


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


@dataclass
class _Job:
    fn: Callable[[Tx], Any]
    ctx: EventContext
    future: concurrent.futures.Future[Any]


class Writer:
    """Commits units of work and tells its listeners about the events they emitted."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock
        self.listeners: list[CommitListener] = []

    def submit(self, fn: Callable[[Tx], T], ctx: EventContext) -> concurrent.futures.Future[T]:
        raise NotImplementedError

    def run_sync(self, fn: Callable[[Tx], T], ctx: EventContext) -> T:
        """Commit `fn` and return its result (blocking; for the CLI and threads)."""
        return self.submit(fn, ctx).result()

    async def run(self, fn: Callable[[Tx], T], ctx: EventContext) -> T:
        """Commit `fn` and return its result."""
        import asyncio

        return await asyncio.wrap_future(self.submit(fn, ctx))

    def close(self) -> None:
        """Finish queued work and stop."""

    def _committed(self, records: Sequence[EventRecord]) -> None:
        if not records:
            return
        for listener in self.listeners:
            try:
                listener(records)
            except Exception:  # a listener must never undo a commit; the sweeper re-sends
                log.exception("commit listener failed")


class SerialWriter(Writer):
    """SQLite: one thread, one connection, group commit of whatever is queued."""

    MAX_BATCH = 256

    def __init__(self, db: Database, clock: Clock) -> None:
        super().__init__(db, clock)
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._loop, name="nixflow-writer", daemon=True)
        self._closed = False
        self._thread.start()

    def submit(self, fn: Callable[[Tx], T], ctx: EventContext) -> concurrent.futures.Future[T]:
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        if self._closed:
            future.set_exception(ServiceUnavailable("the writer is shut down"))
        else:
            self._queue.put(_Job(fn, ctx, future))
        return future

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._queue.put(None)
            self._thread.join(timeout=30)

    def _loop(self) -> None:
        conn: Connection | None = None
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is None:
                break
            batch = [first]
            while len(batch) < self.MAX_BATCH:
                try:
                    job = self._queue.get_nowait()
                except queue.Empty:
                    break
                if job is None:
                    stopping = True
                    break
                batch.append(job)
            try:
                if conn is None:
                    conn = self.db.write_engine.connect()
                self._commit(conn, batch)
            except Exception as exc:
                log.warning("write batch failed: %s", exc)
                error: BaseException = ServiceUnavailable("database unavailable") if unavailable(exc) else exc
                for job in batch:
                    if not job.future.done():
                        job.future.set_exception(error)
                if conn is not None:
                    conn.close()
                    conn = None
        if conn is not None:
            conn.close()

    def _commit(self, conn: Connection, batch: list[_Job]) -> None:
        if len(batch) == 1:
            self._commit_one(conn, batch[0])
        else:
            self._commit_many(conn, batch)

    def _commit_one(self, conn: Connection, job: _Job) -> None:
        # Alone in its transaction: no savepoint needed, a failure rolls back just this job.
        tx = Tx(conn, job.ctx, self.clock())
        try:
            with conn.begin():
                value = job.fn(tx)
        except Exception as exc:
            if unavailable(exc):
                raise
            job.future.set_exception(exc)
            return
        self._committed(tx.events)
        job.future.set_result(value)

    def _commit_many(self, conn: Connection, batch: list[_Job]) -> None:
        outcomes: list[tuple[_Job, Any, BaseException | None]] = []
        committed: list[EventRecord] = []
        with conn.begin():
            now = self.clock()
            for job in batch:
                tx = Tx(conn, job.ctx, now)
                savepoint = conn.begin_nested()
                try:
                    value = job.fn(tx)
                except Exception as failure:
                    savepoint.rollback()
                    outcomes.append((job, None, failure))
                else:
                    savepoint.commit()
                    outcomes.append((job, value, None))
                    committed.extend(tx.events)
        self._committed(committed)
        for job, value, error in outcomes:
            if error is None:
                job.future.set_result(value)
            else:
                job.future.set_exception(error)


class PooledWriter(Writer):
    """PostgreSQL: each unit of work in its own transaction on a pooled connection."""

    def __init__(self, db: Database, clock: Clock, threads: int = 16) -> None:
        super().__init__(db, clock)
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=threads, thread_name_prefix="nixflow-write")

    def submit(self, fn: Callable[[Tx], T], ctx: EventContext) -> concurrent.futures.Future[T]:
        return self._pool.submit(self._run_one, fn, ctx)

    def _run_one(self, fn: Callable[[Tx], T], ctx: EventContext) -> T:
        try:
            with self.db.write_engine.begin() as conn:
                tx = Tx(conn, ctx, self.clock())
                value = fn(tx)
        except Exception as exc:
            if unavailable(exc):
                raise ServiceUnavailable("database unavailable") from exc
            raise
        self._committed(tx.events)
        return value

    def close(self) -> None:
        self._pool.shutdown(wait=True)


def make_writer(db: Database, clock: Clock) -> Writer:
    """The writer suited to the database."""
    return SerialWriter(db, clock) if db.is_sqlite else PooledWriter(db, clock)
