"""The writers that commit units of work, and tell listeners what they emitted.

On SQLite one thread owns the only write connection and commits the work of
concurrent requests together (group commit, each request in its own savepoint);
on PostgreSQL each unit runs in its own pooled transaction.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, cast

from sqlalchemy import Connection

from nixflow.domain.envelope import EventContext, EventRecord
from nixflow.domain.errors import ChangedMeanwhile, ServiceUnavailable
from nixflow.observe import metrics, tracing
from nixflow.store.db import Clock, Database, Tx, unavailable

T = TypeVar("T")
log = logging.getLogger(__name__)

CommitListener = Callable[[Sequence[EventRecord]], None]
UnitHook = Callable[[Tx], None]


@dataclass
class _Job:
    fn: Callable[[Tx], Any]
    ctx: EventContext
    future: concurrent.futures.Future[Any] | None = None  # a blocking caller's (`submit`, `run_sync`)
    waiter: asyncio.Future[Any] | None = None  # a caller's on an event loop (`run`), settled on that loop
    trace: object | None = field(default_factory=tracing.current)  # the submitter's span, continued by the unit


Outcome = tuple[_Job, Any, BaseException | None]


class ReadBack(Generic[T]):
    """A unit of work's answer, read at its very end: after the events it emitted were handled inline (its
    automation included), inside its transaction, so a write answers with the state it commits."""

    def __init__(self, read: Callable[[], T]) -> None:
        self.read = read


def _settle_on_loop(outcomes: list[Outcome]) -> None:
    """On the caller's event loop: hand each waiting coroutine its result (unless it stopped waiting)."""
    for job, value, error in outcomes:
        waiter = job.waiter
        if waiter is None or waiter.done():  # cancelled: the client went away; the work stands
            continue
        if error is None:
            waiter.set_result(value)
        else:
            waiter.set_exception(error)


def _settle(outcomes: list[Outcome]) -> None:
    """Tell every caller of a turn how its unit of work ended.

    Callers on an event loop are told with one wake-up of that loop per turn, not one per unit of work: each
    wake-up is a write to the loop's self-pipe, a system call that gives up the GIL, and getting it back meant
    waiting for the busy event loop to yield it.
    """
    by_loop: dict[asyncio.AbstractEventLoop, list[Outcome]] = {}
    for outcome in outcomes:
        job, value, error = outcome
        if job.waiter is not None:
            by_loop.setdefault(job.waiter.get_loop(), []).append(outcome)
        elif job.future is not None and not job.future.done() and job.future.set_running_or_notify_cancel():
            if error is None:
                job.future.set_result(value)
            else:
                job.future.set_exception(error)
    for loop, items in by_loop.items():
        try:
            loop.call_soon_threadsafe(_settle_on_loop, items)
        except RuntimeError:  # the loop is closed: nobody is waiting any more
            log.debug("event loop closed before %d results could be handed over", len(items))


class Writer:
    """Commits units of work and tells its listeners about the events they emitted."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock
        self.listeners: list[CommitListener] = []
        # Runs at the end of every unit of work, before its events are written: inline delivery.
        self.before_commit: UnitHook | None = None

    def submit(self, fn: Callable[[Tx], T], ctx: EventContext) -> concurrent.futures.Future[T]:
        raise NotImplementedError

    def run_sync(self, fn: Callable[[Tx], T], ctx: EventContext) -> T:
        """Commit `fn` and return its result (blocking; for the CLI and threads)."""
        return self.submit(fn, ctx).result()

    async def run(self, fn: Callable[[Tx], T], ctx: EventContext) -> T:
        """Commit `fn` and return its result."""
        return await asyncio.wrap_future(self.submit(fn, ctx))

    async def run_read_back(self, fn: Callable[[Tx], ReadBack[T]], ctx: EventContext) -> T:
        """Commit `fn` and answer with what its `ReadBack` reads once the unit's events were handled."""
        return cast(T, await self.run(fn, ctx))  # `_unit` replaced the ReadBack by what it read

    def close(self) -> None:
        """Finish queued work and stop."""

    def queue_depth(self) -> int:
        """Units of work waiting for a turn (0 where each runs on its own thread at once)."""
        return 0

    def _unit(self, fn: Callable[[Tx], Any], tx: Tx, trace: object | None) -> Any:
        """A unit of work to its end, inside its transaction: the work, then its events delivered and written;
        a `ReadBack` answer is read last. Traced as a child of `trace`, the span that submitted it."""
        with tracing.unit_of_work(tx.ctx, trace):
            value = fn(tx)
            if self.before_commit is not None:
                self.before_commit(tx)
            tx.flush()
            return value.read() if isinstance(value, ReadBack) else value

    def _committed(self, records: Sequence[EventRecord]) -> None:
        if not records:
            return
        metrics.count_written(record.type for record in records)
        for listener in self.listeners:
            try:
                listener(records)
            except Exception:  # a listener must never undo a commit; the sweeper re-sends
                log.exception("commit listener failed")


class SerialWriter(Writer):
    """SQLite: one thread, one connection, group commit of whatever is queued.

    A turn takes what is queued (up to MAX_BATCH) but commits once it has run for TURN_SECONDS, leaving
    the rest for the next turn, so an early request never waits behind a long batch. WAL checkpoints run on
    a thread of their own (`Checkpointer`), not in the writer's commits.
    """

    MAX_BATCH = 256
    TURN_SECONDS = 0.02

    def __init__(self, db: Database, clock: Clock) -> None:
        super().__init__(db, clock)
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._carry: list[_Job] = []
        self._thread = threading.Thread(target=self._loop, name="nixflow-writer", daemon=True)
        self._closed = False
        self._checkpointer = Checkpointer(db)
        self._thread.start()

    def submit(self, fn: Callable[[Tx], T], ctx: EventContext) -> concurrent.futures.Future[T]:
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        if self._closed:
            future.set_exception(ServiceUnavailable("the writer is shut down"))
        else:
            self._queue.put(_Job(fn, ctx, future=future))
        return future

    async def run(self, fn: Callable[[Tx], T], ctx: EventContext) -> T:
        """Commit `fn` and return its result; the result comes back with the rest of its turn's (`_settle`)."""
        if self._closed:
            raise ServiceUnavailable("the writer is shut down")
        waiter: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.put(_Job(fn, ctx, waiter=waiter))
        return await waiter

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._queue.put(None)
            self._thread.join(timeout=30)
            self._checkpointer.close()

    def _loop(self) -> None:
        conn: Connection | None = None
        stopping = False
        while not stopping or self._carry:
            if self._carry:
                batch, self._carry = self._carry, []
            else:
                first = self._queue.get()
                if first is None:
                    break
                batch = [first]
            while not stopping and len(batch) < self.MAX_BATCH:
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
                self._carry = []  # the jobs not run yet fail with the rest of the turn
                error: BaseException = ServiceUnavailable("database unavailable") if unavailable(exc) else exc
                _settle([(job, None, error) for job in batch])
                if conn is not None:
                    conn.close()
                    conn = None
        if conn is not None:
            conn.close()

    def _commit(self, conn: Connection, batch: list[_Job]) -> None:
        with metrics.WRITER_TURN.time():
            if len(batch) == 1:
                self._commit_one(conn, batch[0])
            else:
                self._commit_many(conn, batch)

    def queue_depth(self) -> int:
        """Units of work waiting for the writer thread."""
        return self._queue.qsize()

    def _commit_one(self, conn: Connection, job: _Job) -> None:
        # Alone in its transaction: no savepoint needed, a failure rolls back just this job.
        tx = Tx(conn, job.ctx, self.clock())
        try:
            with conn.begin():
                value = self._unit(job.fn, tx, job.trace)
        except Exception as exc:
            if unavailable(exc):
                raise
            _settle([(job, None, exc)])
            return
        self._committed(tx.events)
        _settle([(job, value, None)])

    def _commit_many(self, conn: Connection, batch: list[_Job]) -> None:
        outcomes: list[Outcome] = []
        committed: list[EventRecord] = []
        deadline = time.monotonic() + self.TURN_SECONDS
        with conn.begin():
            now = self.clock()
            for index, job in enumerate(batch):
                if index and time.monotonic() > deadline:
                    self._carry = batch[index:]  # the turn is over: commit what ran, the rest goes next
                    break
                tx = Tx(conn, job.ctx, now)
                try:
                    with tx.savepoint():  # one failing unit of work does not undo the others of the batch
                        value = self._unit(job.fn, tx, job.trace)
                except Exception as failure:
                    outcomes.append((job, None, failure))
                else:
                    outcomes.append((job, value, None))
                    committed.extend(tx.events)
        self._committed(committed)
        _settle(outcomes)


class Checkpointer:
    """SQLite: copies the write-ahead log into the database file every `interval` seconds, on a thread and
    connection of its own (PASSIVE: it never waits for, nor blocks, the writer or the readers). The writer's
    connection does not checkpoint (`wal_autocheckpoint=0`), so no commit pays for one."""

    def __init__(self, db: Database, interval: float = 0.5) -> None:
        self.db = db
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="nixflow-checkpoint", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                with self.db.read_engine.connect() as conn:
                    conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
            except Exception as exc:  # a busy or vanished database: the next round tries again
                log.debug("checkpoint skipped: %s", exc)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        try:
            with self.db.read_engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        except Exception as exc:
            log.debug("final checkpoint skipped: %s", exc)


class PooledWriter(Writer):
    """PostgreSQL: each unit of work in its own transaction on a pooled connection."""

    def __init__(self, db: Database, clock: Clock, threads: int = 16) -> None:
        super().__init__(db, clock)
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=threads, thread_name_prefix="nixflow-write")

    ATTEMPTS = 3

    def submit(self, fn: Callable[[Tx], T], ctx: EventContext) -> concurrent.futures.Future[T]:
        return self._pool.submit(self._run_one, fn, ctx, tracing.current())

    async def run(self, fn: Callable[[Tx], T], ctx: EventContext) -> T:
        """Commit `fn`; run it again (up to ATTEMPTS in all) when another unit changed its rows meanwhile.

        Units run side by side here, so a request that named no version (a transition, an assignment) can lose
        a race it never chose, e.g. to the SLA job escalating the same ticket: it is applied to the new state
        instead of answering 409. A unit that was given a stale version fails at once (`StaleVersion`).
        """
        for _ in range(self.ATTEMPTS - 1):
            try:
                return await asyncio.wrap_future(self.submit(fn, ctx))
            except ChangedMeanwhile:
                log.info("a unit of work lost a race to a concurrent change; running it again")
        return await asyncio.wrap_future(self.submit(fn, ctx))

    def _run_one(self, fn: Callable[[Tx], T], ctx: EventContext, trace: object | None) -> T:
        try:
            with metrics.WRITER_TURN.time(), self.db.write_engine.begin() as conn:
                tx = Tx(conn, ctx, self.clock())
                value: T = self._unit(fn, tx, trace)
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
