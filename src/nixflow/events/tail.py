"""Tail the event log: every committed event, in log order, exactly once, from any process's commits.

Live views (the WebSocket hub) are fed from here rather than from the local writer, so a client of
one API process sees what another process or a worker committed, in the same order a reconnecting
client reads with `?after=`. Local commits wake the tailer at once while a live view is connected
(`eager`); other processes' commits, and local ones while nobody watches, are picked up within `interval`
seconds, a page at a time instead of a read per commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence

from nixflow.domain.envelope import EventRecord
from nixflow.store import event_log
from nixflow.store.db import Database

log = logging.getLogger(__name__)

Sink = Callable[[Sequence[EventRecord]], None]


class LogTailer:
    """Reads the log after its position and hands each page of new events to the sinks."""

    PAGE = 500

    def __init__(self, db: Database, *, interval: float) -> None:
        self.db = db
        self.interval = interval
        self.sinks: list[Sink] = []
        # Whether a local commit is worth a read at once (someone is watching); else the next interval reads it.
        self.eager: Callable[[], bool] = lambda: True
        self.position: event_log.Position = event_log.START
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._reading = asyncio.Lock()  # one reader at a time: two from one position would hand a page over twice

    async def start(self) -> None:
        """Start at the head of the log: only events committed from now on are handed over."""
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._stopping = False
        self.position = await self.db.read(event_log.head)
        self._task = asyncio.create_task(self._run(), name="nixflow-log-tailer")

    async def stop(self) -> None:
        self._stopping = True
        if self._wake is not None:
            self._wake.set()
        if self._task is not None:
            _done, late = await asyncio.wait({self._task}, timeout=10)
            for task in late:
                task.cancel()
            self._task = None
        self._loop = None

    def wake(self, _records: Sequence[EventRecord] = ()) -> None:
        """Read now (called from any thread after a local commit), if someone is waiting for it."""
        loop, wake = self._loop, self._wake
        if not self.eager():
            return
        if loop is not None and wake is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(wake.set)

    async def poll(self) -> int:
        """Hand over everything committed since the last call; return how many events.

        Safe to call while the background task also polls: calls take turns, each from where the last ended.
        """
        async with self._reading:
            return await self._drain()

    async def _drain(self) -> int:
        total = 0
        while True:
            start = self.position
            records, self.position = await self.db.read(
                lambda conn, start=start: event_log.after(conn, start, limit=self.PAGE)  # type: ignore[misc]
            )
            if records:
                total += len(records)
                for sink in self.sinks:
                    try:
                        sink(records)
                    except Exception:
                        log.exception("a log tail sink failed")
            if len(records) < self.PAGE:
                return total

    async def _run(self) -> None:
        assert self._wake is not None
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.interval)
            self._wake.clear()
            if self._stopping:
                return
            try:
                await self.poll()
            except Exception as exc:
                log.warning("tailing the log failed (will retry): %s", exc)
