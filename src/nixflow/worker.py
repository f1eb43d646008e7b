"""Periodic jobs: the outbox sweeper and the time-based automation, run each tick or in burst mode."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from nixflow.events.bus import Transport
from nixflow.store import event_log
from nixflow.store.db import Clock, Database

log = logging.getLogger(__name__)

JobFn = Callable[[datetime], Awaitable[int]]


@dataclass(frozen=True)
class PeriodicJob:
    """A job run every tick; returns how much work it did."""

    name: str
    fn: JobFn


class Sweeper:
    """The slow path of the outbox: re-sends events nobody finished, and retries that are due."""

    def __init__(self, *, db: Database, transport: Transport, stale_after_seconds: float) -> None:
        self.db = db
        self.transport = transport
        self.stale_after = timedelta(seconds=stale_after_seconds)

    async def __call__(self, now: datetime) -> int:
        ids = await self.db.read(
            lambda conn: event_log.due_for_delivery(conn, now=now, stale_before=now - self.stale_after)
        )
        if ids:
            records = await self.db.read(lambda conn: event_log.find_by_ids(conn, ids))
            self.transport.publish(records)
        return len(ids)


class Scheduler:
    """Runs the periodic jobs: forever every `tick_seconds`, or once on demand (`run_due`)."""

    def __init__(self, *, clock: Clock, tick_seconds: float, jobs: list[PeriodicJob]) -> None:
        self.clock = clock
        self.tick_seconds = tick_seconds
        self.jobs = jobs
        self._task: asyncio.Task[None] | None = None

    async def run_due(self, now: datetime | None = None) -> dict[str, int]:
        """Run every job once, as of `now`; one failing job does not stop the others."""
        at = now or self.clock()
        done: dict[str, int] = {}
        for job in self.jobs:
            try:
                done[job.name] = await job.fn(at)
            except Exception:
                log.exception("periodic job %s failed", job.name)
                done[job.name] = -1
        return done

    def start(self) -> None:
        """Tick in the background."""
        self._task = asyncio.create_task(self._forever(), name="nixflow-scheduler")

    async def stop(self) -> None:
        """Stop ticking."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _forever(self) -> None:
        while True:
            await self.run_due()
            await asyncio.sleep(self.tick_seconds)
