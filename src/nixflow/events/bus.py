"""Delivery of committed events to their handlers.

The transport moves event ids (in-process queue, or Redis Streams in scale-out
mode); the dispatcher, the same in every mode, claims them, runs each handler
with its receipt in one transaction, and records the outcome in the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from nixflow.domain.values import EventStatus
from nixflow.events.dedup import DedupStore
from nixflow.events.envelope import EventContext, EventRecord
from nixflow.store import deliveries
from nixflow.store.db import Tx
from nixflow.store.writer import Writer

log = logging.getLogger(__name__)

HandlerFn = Callable[[Tx, EventRecord], None]
ALL = "*"


@dataclass(frozen=True)
class Handler:
    """A named reaction to events; the name keys its receipts, so keep it stable."""

    name: str
    fn: HandlerFn


class HandlerRegistry:
    """Which handlers react to which event types."""

    def __init__(self) -> None:
        self._by_type: dict[str, list[Handler]] = {}

    def subscribe(self, event_type: str, handler: Handler) -> None:
        """Run `handler` for every event of `event_type` (`*`: every event)."""
        handlers = self._by_type.setdefault(event_type, [])
        if handler not in handlers:
            handlers.append(handler)

    def unsubscribe(self, event_type: str, handler: Handler) -> None:
        """Stop running `handler` for `event_type`."""
        handlers = self._by_type.get(event_type, [])
        if handler in handlers:
            handlers.remove(handler)

    def for_type(self, event_type: str) -> list[Handler]:
        """The handlers of an event type, specific ones first."""
        return [*self._by_type.get(event_type, []), *self._by_type.get(ALL, [])]


class Transport(Protocol):
    """Moves committed events to consumers: a fast path after commit, and re-sends."""

    async def start(self, dispatcher: Dispatcher, *, consume: bool = True) -> None:
        """Start publishing, and consuming unless `consume` is false (an API-only process)."""
        ...

    async def stop(self) -> None: ...

    def publish(self, records: Sequence[EventRecord]) -> None:
        """Hand committed events over; must not block and may be called from any thread."""
        ...

    async def health(self) -> str:
        """`embedded`, `ok`, or what is wrong."""
        ...


class Dispatcher:
    """Claims events, runs their handlers once each, and records the outcome."""

    def __init__(
        self,
        *,
        writer: Writer,
        registry: HandlerRegistry,
        dedup: DedupStore,
        dedup_ttl_seconds: float,
        max_attempts: int,
        retry_base_seconds: float,
        stale_after_seconds: float,
    ) -> None:
        self.writer = writer
        self.registry = registry
        self.dedup = dedup
        self.dedup_ttl_seconds = dedup_ttl_seconds
        self.max_attempts = max_attempts
        self.retry_base_seconds = retry_base_seconds
        self.stale_after = timedelta(seconds=stale_after_seconds)

    async def deliver(self, event_ids: Sequence[str]) -> list[EventRecord]:
        """Deliver a batch of events, higher priority first; return the records as finished.

        One unit of work per batch, whatever its size: it claims the events (a concurrent consumer's claim
        waits on the row locks and then finds them done) and runs their handlers, each handler in a
        savepoint of its own so one failing handler touches no other handler or event. A crash mid-way
        rolls everything back: the events stay `pending` and the sweeper sends them again; the error is
        raised, so a transport that acknowledges messages knows not to. An event whose bookkeeping fails
        stays `processing` with its receipts and is taken again once stale: handlers that already ran
        are skipped then.
        """

        def claim_and_handle(tx: Tx) -> list[EventRecord]:
            claimed = deliveries.claim(tx.conn, event_ids, tx.now, tx.now - self.stale_after)
            done = []
            for record in claimed:
                owner = self.dedup.claim("dedup:" + record.dedup_key, record.event_id, self.dedup_ttl_seconds)
                try:
                    done.append(self._handle(tx, record, duplicate_of=None if owner == record.event_id else owner))
                except Exception:
                    log.exception("delivery of %s failed", record.event_id)
            return done

        return await self.writer.run(claim_and_handle, _DISPATCH_CTX)

    def _handle(self, tx: Tx, record: EventRecord, *, duplicate_of: str | None) -> EventRecord:
        if duplicate_of is not None:
            deliveries.finish(
                tx.conn, record.event_id, status=EventStatus.COMPLETED, now=tx.now, duplicate_of=duplicate_of
            )
            record.status, record.duplicate_of = EventStatus.COMPLETED, duplicate_of
            return record
        errors: list[str] = []
        handlers = self.registry.for_type(record.type)
        done = deliveries.handled_by(tx.conn, record.event_id) if handlers else set()
        for handler in handlers:
            if handler.name in done:
                continue
            try:
                with tx.savepoint():
                    handler.fn(tx.child(tx.ctx.caused_by(record, source=handler.name)), record)
                    deliveries.record_receipt(tx.conn, handler.name, record.event_id, tx.now)
            except Exception as exc:
                log.info("handler %s failed on %s: %s", handler.name, record.event_id, exc)
                errors.append(f"{handler.name}: {type(exc).__name__}: {exc}")
        if not errors:
            deliveries.finish(
                tx.conn, record.event_id, status=EventStatus.COMPLETED, now=tx.now, retry_count=record.retry_count
            )
            record.status, record.error = EventStatus.COMPLETED, None
            return record
        attempts = record.retry_count + 1
        error = "; ".join(errors)
        if attempts >= self.max_attempts:
            deliveries.finish(
                tx.conn, record.event_id, status=EventStatus.FAILED, now=tx.now, retry_count=attempts, error=error
            )
            record.status = EventStatus.FAILED
        else:
            due = tx.now + timedelta(seconds=self.retry_base_seconds * 2 ** (attempts - 1))
            deliveries.finish(
                tx.conn,
                record.event_id,
                status=EventStatus.RETRYING,
                now=tx.now,
                retry_count=attempts,
                next_attempt_at=due,
                error=error,
            )
            record.status, record.next_attempt_at = EventStatus.RETRYING, due
        record.retry_count, record.error = attempts, error
        return record


# Delivery bookkeeping emits no events; its context only names the source.
_DISPATCH_CTX = EventContext(correlation_id="dispatch", actor_id=None, source="dispatcher")


class InProcessTransport:
    """Embedded mode: a priority queue in this process, drained in batches by one consumer."""

    BATCH = 128

    def __init__(self) -> None:
        self._queue: asyncio.PriorityQueue[tuple[int, int, str]] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._dispatcher: Dispatcher | None = None
        self._idle: asyncio.Event | None = None

    async def start(self, dispatcher: Dispatcher, *, consume: bool = True) -> None:
        if not consume:
            return  # nothing consumes here: a worker process's sweeper delivers from the log
        self._dispatcher = dispatcher
        self._loop = asyncio.get_running_loop()
        self._queue = asyncio.PriorityQueue()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task = asyncio.create_task(self._consume(), name="nixflow-consumer")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._loop = None

    async def health(self) -> str:
        return "embedded"

    def publish(self, records: Sequence[EventRecord]) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return  # not consuming here: the sweeper of a running process delivers them
        items = [(r.priority.rank, r.seq or 0, r.event_id) for r in records]
        with contextlib.suppress(RuntimeError):  # loop closing: the events stay `pending` for the sweeper
            loop.call_soon_threadsafe(self._enqueue, items)

    def _enqueue(self, items: list[tuple[int, int, str]]) -> None:
        assert self._queue is not None and self._idle is not None
        for item in items:
            self._queue.put_nowait(item)
        self._idle.clear()

    async def drain(self) -> None:
        """Wait until everything published so far has been delivered (tests, burst mode)."""
        assert self._queue is not None and self._idle is not None
        await asyncio.sleep(0)
        await self._idle.wait()

    async def _consume(self) -> None:
        assert self._queue is not None and self._dispatcher is not None and self._idle is not None
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self.BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await self._dispatcher.deliver([event_id for _, _, event_id in batch])
            except Exception:
                log.exception("delivery batch failed; the sweeper will re-send it")
            if self._queue.empty():
                self._idle.set()
