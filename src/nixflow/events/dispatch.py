"""A unit of work and the events it causes: how every event reaches its handlers.

Inline (the fast path): when a unit of work ends, before it commits, the writer hands it to
`Dispatcher.within`. Each event it emitted runs its handlers there and then, in the order the events
were written, each handler in a savepoint with its receipt; the events the handlers emit join the same
loop. The events are then written to the log with their outcome (`completed`, or `retrying` when a
handler failed), so the change, its consequences and the bookkeeping commit together, in one
transaction, or not at all.

Async (the slow path): what the inline path could not finish — a failed handler's retries, an event
whose aggregate has an earlier event still unfinished, an explicit replay — is claimed from the log by
`Dispatcher.deliver`, fed by the transport (the in-process queue, Redis Streams) and the sweeper.

Both paths keep a ticket's events in the order they were written: an event waits while an earlier
event of the same aggregate is unfinished.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ReadOnlyError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DBAPIError

from nixflow.domain.envelope import EventContext, EventRecord
from nixflow.domain.errors import ServiceUnavailable
from nixflow.domain.values import EventStatus
from nixflow.events.bus import Handler, HandlerRegistry
from nixflow.events.dedup import DedupStore
from nixflow.observe import logs, metrics, tracing
from nixflow.store import deliveries
from nixflow.store.db import Tx
from nixflow.store.writer import Writer

log = logging.getLogger(__name__)

# Delivery bookkeeping emits no events; its context only names the source.
_DISPATCH_CTX = EventContext(correlation_id="dispatch", actor_id=None, source="dispatcher")


class Dispatcher:
    """Runs every event's handlers once each and records the outcome."""

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

    # -- inline: inside the unit of work that emitted the events --------------------------------------

    def within(self, tx: Tx) -> None:
        """Handle the events `tx` emitted (and those its handlers emit) before it commits.

        Events no handler subscribes to are written as already `completed`. TTL dedup is not consulted:
        these events were produced by this very transaction's version-checked writes, so none can be a
        repeat of an earlier emission.
        """
        events = tx.events
        blocked: set[tuple[str, str]] = set()  # aggregates whose earlier events are not finished
        checked: set[tuple[str, str]] = set()  # aggregates already looked up in the log
        i = 0
        while i < len(events):  # handlers append to `events` as they emit
            record = events[i]
            i += 1
            handlers = self.registry.for_type(record.type)
            if not handlers:
                record.status = EventStatus.COMPLETED
                continue
            if _aggregate(record) not in checked:  # one query for every aggregate not seen yet
                new = {_aggregate(r) for r in events[i - 1 :]} - checked
                blocked |= deliveries.unfinished_aggregates(tx.conn, new - tx.outbox.born)
                checked |= new
            if _aggregate(record) in blocked:
                continue  # stays `pending`: the async path takes it after the earlier event
            run = _run_of(events, i - 1, handlers, blocked=blocked, checked=checked)
            if len(run) > 1:
                i += len(run) - 1
                for each, errors in zip(run, self._run_many(tx, run), strict=True):
                    self._settle(each, errors, tx.now)
                    if errors:
                        blocked.add(_aggregate(each))
                continue
            errors = self._run_handlers(tx, record, done=set())
            self._settle(record, errors, tx.now)
            if errors:
                blocked.add(_aggregate(record))

    # -- async: events claimed from the log -----------------------------------------------------------

    async def deliver(self, event_ids: Sequence[str]) -> list[EventRecord]:
        """Deliver a batch of logged events; return the records as finished.

        One unit of work per batch: it claims the events (a concurrent consumer's claim waits on the row
        locks and then finds them done), handles them in log order, each handler in a savepoint of its
        own, and records each outcome. A crash mid-way rolls everything back: the events stay `pending`
        and the sweeper sends them again; the error is raised, so a transport that acknowledges messages
        knows not to. Handlers that already committed their effect (receipts) are skipped.
        """

        def claim_and_handle(tx: Tx) -> list[EventRecord]:
            claimed = deliveries.claim(tx.conn, event_ids, tx.now, tx.now - self.stale_after)
            done = []
            for record in claimed:
                try:
                    done.append(self._deliver_one(tx, record))
                except Exception:
                    log.exception("delivery of %s failed", record.event_id)
            return done

        return await self.writer.run(claim_and_handle, _DISPATCH_CTX)

    def _deliver_one(self, tx: Tx, record: EventRecord) -> EventRecord:
        if deliveries.has_earlier_unfinished(tx.conn, record):
            record.status = EventStatus.PENDING  # the sweeper sends it again once the earlier one is done
            deliveries.finish(tx.conn, record.event_id, status=record.status, now=tx.now)
            return record
        owner = self.dedup.claim("dedup:" + record.dedup_key, record.event_id, self.dedup_ttl_seconds)
        if owner != record.event_id:
            record.status, record.duplicate_of = EventStatus.COMPLETED, owner
            deliveries.finish(tx.conn, record.event_id, status=record.status, now=tx.now, duplicate_of=owner)
            return record
        handlers = self.registry.for_type(record.type)
        done = deliveries.handled_by(tx.conn, record.event_id) if handlers else set()
        self._settle(record, self._run_handlers(tx, record, done=done), tx.now)
        deliveries.finish(
            tx.conn,
            record.event_id,
            status=record.status,
            now=tx.now,
            retry_count=record.retry_count,
            next_attempt_at=record.next_attempt_at,
            error=record.error,
        )
        return record

    # -- shared ---------------------------------------------------------------------------------------

    def _run_handlers(
        self, tx: Tx, record: EventRecord, *, done: set[str], only: Handler | None = None
    ) -> list[Failure]:
        """Run each handler (or `only` that one) not in `done` in a savepoint with its receipt; return the
        failures."""
        errors: list[Failure] = []
        for handler in self.registry.for_type(record.type) if only is None else [only]:
            if handler.name in done:
                continue
            started = time.perf_counter()
            try:
                with tx.savepoint(), logs.handling(record), tracing.handling(record, handler.name):
                    handler.fn(tx.child(tx.ctx.caused_by(record, source=handler.name)), record)
                tx.record_receipt(handler.name, record.event_id)
            except Exception as exc:
                log.info("handler %s failed on %s: %s", handler.name, record.event_id, exc)
                errors.append(Failure(f"{handler.name}: {type(exc).__name__}: {exc}", outage=_outage(exc)))
                metrics.EVENTS_HANDLED.labels(handler.name, "failed").inc()
            else:
                metrics.EVENTS_HANDLED.labels(handler.name, "completed").inc()
            metrics.HANDLER_DURATION.labels(handler.name).observe(time.perf_counter() - started)
        return errors

    def _run_many(self, tx: Tx, run: Sequence[EventRecord]) -> list[list[Failure]]:
        """Each handler of the run's type over the whole run, in the table's order. One with `many`: one savepoint
        and one call for the run (and if that fails, the handler again on each event alone, so a failure stays
        with its event); one without: on each event, as `_run_handlers` runs it."""
        errors: list[list[Failure]] = [[] for _ in run]
        for handler in self.registry.for_type(run[0].type):
            started = time.perf_counter()
            if handler.many is not None and run[0].type in handler.many_types:
                try:
                    with tx.savepoint():
                        handler.many(tx, run)
                        for record in run:
                            tx.record_receipt(handler.name, record.event_id)
                except Exception as exc:
                    log.info("handler %s failed on a run of %d events: each alone: %s", handler.name, len(run), exc)
                else:
                    metrics.EVENTS_HANDLED.labels(handler.name, "completed").inc(len(run))
                    metrics.HANDLER_DURATION.labels(handler.name).observe(time.perf_counter() - started)
                    continue
            for record, failures in zip(run, errors, strict=True):
                failures += self._run_handlers(tx, record, done=set(), only=handler)
        return errors

    def _settle(self, record: EventRecord, errors: list[Failure], now: datetime) -> None:
        """Set the outcome on `record`: completed, retrying after a backoff, or failed for good. A failure that is
        only a dependency's outage (Redis away, a failover under way) is retried without using up an attempt:
        however long the outage, the event is not given up on; each try waits at most `OUTAGE_BACKOFF_CAP`."""
        if not errors:
            record.status, record.error, record.next_attempt_at = EventStatus.COMPLETED, None, None
            return
        record.error = "; ".join(failure.text for failure in errors)
        if all(failure.outage for failure in errors):
            record.status = EventStatus.RETRYING
            wait = min(self.retry_base_seconds * 2 ** min(record.retry_count, 16), OUTAGE_BACKOFF_CAP)
            record.next_attempt_at = now + timedelta(seconds=wait)
            return
        attempts = record.retry_count + 1
        record.retry_count = attempts
        if attempts >= self.max_attempts:
            record.status, record.next_attempt_at = EventStatus.FAILED, None
            metrics.EVENTS_DEAD_LETTERED.labels(record.type).inc()
        else:
            record.status = EventStatus.RETRYING
            record.next_attempt_at = now + timedelta(seconds=self.retry_base_seconds * 2 ** (attempts - 1))


OUTAGE_BACKOFF_CAP = 10.0  # seconds


@dataclass(frozen=True)
class Failure:
    """One handler's failure on one event; `outage` when it only says a dependency could not be reached."""

    text: str
    outage: bool


TRANSIENT_SQLSTATES = frozenset({"40P01", "40001"})  # deadlock detected, serialization failure


def _outage(exc: Exception) -> bool:
    """Redis unreachable, timing out or read-only (a demoted primary during a failover), a service the handler
    reported unavailable, or a PostgreSQL deadlock or serialization failure (the other transaction went on; this
    one is simply tried again)."""
    if isinstance(exc, DBAPIError) and getattr(exc.orig, "sqlstate", None) in TRANSIENT_SQLSTATES:
        return True
    return isinstance(exc, RedisConnectionError | RedisTimeoutError | ReadOnlyError | ServiceUnavailable)


def _aggregate(record: EventRecord) -> tuple[str, str]:
    return record.aggregate_type, record.aggregate_id


def _run_of(
    events: Sequence[EventRecord],
    start: int,
    handlers: Sequence[Handler],
    *,
    blocked: set[tuple[str, str]],
    checked: set[tuple[str, str]],
) -> list[EventRecord]:
    """The events from `start` on that the handlers can take at once (when one of them has `many`): of the
    type of the first, each about an aggregate of its own, looked up in the log and not blocked. Of distinct
    aggregates, so handling them handler by handler decides nothing differently than event by event."""
    first = events[start]
    if not any(first.type in handler.many_types for handler in handlers):
        return list(events[start : start + 1])
    seen: set[tuple[str, str]] = set()
    end = start
    while end < len(events) and events[end].type == first.type:
        key = _aggregate(events[end])
        if key in seen or key in blocked or key not in checked:
            break
        seen.add(key)
        end += 1
    return list(events[start : max(end, start + 1)])
