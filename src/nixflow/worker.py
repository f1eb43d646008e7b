"""Periodic jobs: the outbox sweeper and the time-based automation, run each tick or in burst mode."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from nixflow.domain.errors import ServiceUnavailable
from nixflow.events.bus import Transport
from nixflow.ids import uuid7
from nixflow.observe import metrics
from nixflow.store import deliveries, event_log
from nixflow.store.db import Clock, Database, unavailable

log = logging.getLogger(__name__)

JobFn = Callable[[datetime], Awaitable[int]]


@dataclass(frozen=True)
class PeriodicJob:
    """A job run every tick; returns how much work it did."""

    name: str
    fn: JobFn


def is_outage(exc: BaseException) -> bool:
    """Whether an error says a dependency (database, Redis) is unreachable, rather than a bug."""
    if isinstance(exc, ServiceUnavailable | OSError | RedisConnectionError | RedisTimeoutError):
        return True
    return unavailable(exc)


class Sweeper:
    """The slow path of the outbox: re-sends events nobody finished, and retries that are due."""

    def __init__(self, *, db: Database, transport: Transport, stale_after_seconds: float) -> None:
        self.db = db
        self.transport = transport
        self.stale_after = timedelta(seconds=stale_after_seconds)

    async def __call__(self, now: datetime) -> int:
        ids = await self.db.read(
            lambda conn: deliveries.due_for_delivery(conn, now=now, stale_before=now - self.stale_after)
        )
        if ids:
            records = await self.db.read(lambda conn: event_log.find_by_ids(conn, ids))
            self.transport.publish(records)
        return len(ids)


class TickLock(Protocol):
    async def acquire(self, name: str, ttl_seconds: float) -> bool:
        """Whether this process may run job `name` now; at most one process may per `ttl_seconds`."""
        ...


class RedisTickLock:
    """Each tick of a job is claimed once cluster-wide: `SET key NX PX` that is left to expire."""

    def __init__(self, redis: Any, *, prefix: str) -> None:
        self.redis = redis
        self.prefix = prefix
        self.owner = uuid7()

    async def acquire(self, name: str, ttl_seconds: float) -> bool:
        key = f"{self.prefix}:tick:{name}"
        return bool(await self.redis.set(key, self.owner, nx=True, px=max(1, int(ttl_seconds * 1000))))


class Scheduler:
    """Runs the periodic jobs: forever every `tick_seconds`, or once on demand (`run_due`)."""

    def __init__(
        self, *, clock: Clock, tick_seconds: float, jobs: list[PeriodicJob], lock: TickLock | None = None
    ) -> None:
        self.clock = clock
        self.tick_seconds = tick_seconds
        self.jobs = jobs
        self.lock = lock
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._failing: dict[str, str] = {}  # job name -> its last error, while it keeps failing

    async def run_due(self, now: datetime | None = None, *, locked: bool = False) -> dict[str, int]:
        """Run every job once, as of `now`; one failing job does not stop the others.

        With `locked`, each job runs only if this process wins its tick across the cluster (the jobs are
        idempotent anyway; the lock saves the duplicate work).
        """
        at = now or self.clock()
        done: dict[str, int] = {}
        for job in self.jobs:
            started = time.perf_counter()
            try:
                if locked and self.lock is not None and not await self.lock.acquire(job.name, self.tick_seconds * 0.9):
                    continue
                done[job.name] = await job.fn(at)
            except Exception as exc:
                self._failed(job.name, exc)
                done[job.name] = -1
                metrics.JOB_FAILURES.labels(job.name).inc()
            else:
                metrics.observe_job(job.name, time.perf_counter() - started, done[job.name])
                if self._failing.pop(job.name, None) is not None:
                    log.info("periodic job %s works again", job.name)
        return done

    def _failed(self, name: str, exc: Exception) -> None:
        """Log a failure once while it lasts: an outage fails every tick the same way, and says so once."""
        summary = f"{type(exc).__name__}: {exc}".splitlines()[0]
        if self._failing.get(name) == summary:
            return
        self._failing[name] = summary
        if is_outage(exc):
            log.warning("periodic job %s failing, retried every tick: %s", name, summary)
        else:
            log.exception("periodic job %s failed", name)

    def start(self) -> None:
        """Tick in the background."""
        self._stopping = False
        self._task = asyncio.create_task(self._forever(), name="nixflow-scheduler")

    async def stop(self) -> None:
        """Stop ticking: the current job may finish (jobs are short), then the loop ends."""
        task, self._task = self._task, None
        if task is None:
            return
        # A client library may turn the cancellation into an error of its own, which a job survives:
        # the flag ends the loop all the same.
        self._stopping = True
        task.cancel()
        _done, late = await asyncio.wait({task}, timeout=10)
        if late:
            log.warning("periodic jobs did not stop within 10 s; leaving them behind")

    async def _forever(self) -> None:
        while not self._stopping:
            await self.run_due(locked=True)
            await asyncio.sleep(self.tick_seconds)
