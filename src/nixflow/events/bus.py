"""Handlers, the table of who reacts to what, and the transports of the async delivery path.

Most events are handled inside the unit of work that emitted them (`events.dispatch`). What is left
(retries, events waiting for an earlier one, replays) is moved by a transport: an in-process queue, or
Redis Streams in scale-out mode, feeding the same dispatcher.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from nixflow.domain.envelope import EventRecord
from nixflow.store.db import Tx

log = logging.getLogger(__name__)

HandlerFn = Callable[[Tx, EventRecord], None]
ManyFn = Callable[[Tx, Sequence[EventRecord]], None]
ALL = "*"


@dataclass(frozen=True)
class Handler:
    """A named reaction to events; the name keys its receipts, so keep it stable. `many` does what `fn` does
    for each of several events of one of `many_types`, about distinct aggregates, at once (an SLA tick's batch);
    it emits nothing."""

    name: str
    fn: HandlerFn
    many: ManyFn | None = None
    many_types: frozenset[str] = frozenset()


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


class Dispatcher(Protocol):
    """What a transport feeds: `events.dispatch.Dispatcher` (the transports sit below it, so they name only this)."""

    async def deliver(self, event_ids: Sequence[str]) -> list[EventRecord]:
        """Deliver a batch of logged events; return the records as finished."""
        ...


class Transport(Protocol):
    """Moves committed events to consumers: a fast path after commit, and re-sends."""

    async def start(self, dispatcher: Dispatcher, *, consume: bool = True) -> None:
        """Start publishing, and consuming unless `consume` is false (an API-only process)."""
        ...

    async def stop(self) -> None: ...

    def publish(self, records: Sequence[EventRecord]) -> None:
        """Hand committed events over; must not block and may be called from any thread."""
        ...

    def dead_letter(self, records: Sequence[EventRecord]) -> None:
        """Note events that ended `failed` (scale-out: the dead-letter stream); same rules as `publish`."""
        ...

    async def health(self) -> str:
        """`embedded`, `ok`, or what is wrong."""
        ...


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

    def dead_letter(self, records: Sequence[EventRecord]) -> None:
        """Embedded mode keeps no dead-letter stream: failed events are listed from the log."""

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
