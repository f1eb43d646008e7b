"""Scale-out transport: Redis Streams with consumer groups.

After commit, event ids are XADDed to the stream of their priority (fast path); the sweeper re-sends
whatever is still `pending` in the log (slow path), so Redis being down loses nothing. Workers read
with XREADGROUP, higher priorities first, and XACK only after the dispatcher committed the handlers'
effects with their receipts. Messages a dead consumer left unacknowledged are taken over with
XAUTOCLAIM. Events that end `failed` are copied to a dead-letter stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Sequence
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError, ResponseError

from nixflow.domain.envelope import EventRecord
from nixflow.domain.values import EventStatus, Priority
from nixflow.events.bus import Dispatcher
from nixflow.ids import uuid7
from nixflow.store.redis_client import RedisTarget

log = logging.getLogger(__name__)

GROUP = "workers"
RANKS = sorted(p.rank for p in Priority)


class StreamNames:
    """The keys of one NixFlow's streams."""

    def __init__(self, prefix: str) -> None:
        self.by_rank = {rank: f"{prefix}:events:{rank}" for rank in RANKS}
        self.dead = f"{prefix}:events:dead"

    def all(self) -> list[str]:
        return [self.by_rank[rank] for rank in RANKS]


class RedisStreamsTransport:
    """Publishes committed events to Redis Streams and, in workers, consumes them."""

    BATCH = 128
    # How long an idle consumer's read waits for a message (one arriving ends the wait at once). A stop lets the
    # read finish rather than cancel it (`stop`), so this is also how long a stop can wait: short, for the
    # test suite's thousands of stops; five idle reads a second cost Redis nothing.
    BLOCK_MS = 200

    def __init__(self, url: str | RedisTarget, *, prefix: str, claim_idle_seconds: float) -> None:
        self.url = url
        self.names = StreamNames(prefix)
        self.claim_idle_ms = int(claim_idle_seconds * 1000)
        self.consumer = f"{socket.gethostname()}-{os.getpid()}-{uuid7()[-8:]}"
        self.redis: aioredis.Redis = RedisTarget.of(url).async_client(
            decode_responses=True, socket_timeout=5, socket_connect_timeout=2, health_check_interval=10
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._outbox: list[tuple[int, str, int]] = []
        self._dead: list[dict[str, str]] = []
        self._wake: asyncio.Event | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._dispatcher: Dispatcher | None = None
        self._groups_ready = False
        self._stopping = False

    async def start(self, dispatcher: Dispatcher, *, consume: bool = True) -> None:
        self._dispatcher = dispatcher
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._tasks.append(asyncio.create_task(self._publisher(), name="nixflow-redis-publisher"))
        if consume:
            self._tasks.append(asyncio.create_task(self._consumer(), name="nixflow-redis-consumer"))

    async def stop(self) -> None:
        # Let the loops finish their current Redis call instead of cancelling it mid-command (a cancelled
        # blocking read can leave its connection in a state that stalls closing the client).
        self._stopping = True
        if self._wake is not None:
            self._wake.set()
        if self._tasks:
            _done, late = await asyncio.wait(self._tasks, timeout=self.BLOCK_MS / 1000 + 5)
            for task in late:
                task.cancel()
        self._tasks.clear()
        self._loop = None
        await self._flush()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.redis.aclose(), timeout=5)

    async def health(self) -> str:
        await self.redis.ping()
        return "ok"

    def publish(self, records: Sequence[EventRecord]) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return  # not running here: the sweeper of a running process sends them
        items = [(r.priority.rank, r.event_id, r.seq or 0) for r in records]
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(self._enqueue, items)

    def dead_letter(self, records: Sequence[EventRecord]) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return  # the log still says `failed`: `events redrive` finds it there too
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(self._enqueue_dead, [_dead_fields(r) for r in records])

    def _enqueue(self, items: list[tuple[int, str, int]]) -> None:
        self._outbox.extend(items)
        if self._wake is not None:
            self._wake.set()

    def _enqueue_dead(self, items: list[dict[str, str]]) -> None:
        self._dead.extend(items)
        if self._wake is not None:
            self._wake.set()

    async def _publisher(self) -> None:
        assert self._wake is not None
        while not self._stopping:
            await self._wake.wait()
            self._wake.clear()
            await self._flush()

    async def _flush(self) -> None:
        items, self._outbox = self._outbox, []
        dead, self._dead = self._dead, []
        if not items and not dead:
            return
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for rank, event_id, seq in items:
                    pipe.xadd(self.names.by_rank[rank], {"event_id": event_id, "seq": seq})
                for fields in dead:
                    pipe.xadd(self.names.dead, fields)  # type: ignore[arg-type]
                await pipe.execute()
        except (RedisError, OSError) as exc:
            # The events are `pending` in the log: the sweeper sends them once Redis answers again.
            log.warning("could not publish %d event(s) to Redis: %s", len(items), exc)

    async def _ensure_groups(self) -> None:
        if self._groups_ready:
            return
        for stream in self.names.all():
            try:
                await self.redis.xgroup_create(stream, GROUP, id="0", mkstream=True)
            except ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise
        self._groups_ready = True

    async def _consumer(self) -> None:
        backoff = 0.1
        next_claim = 0.0
        paused = False
        loop = asyncio.get_running_loop()
        while not self._stopping:
            try:
                await self._ensure_groups()
                batch: list[tuple[str, str, str]] = []
                if loop.time() >= next_claim:
                    batch = await self._take_over()
                    next_claim = loop.time() + max(1.0, self.claim_idle_ms / 4000)
                if not batch:
                    batch = await self._read()
                if batch:
                    await self._deliver(batch)
                backoff = 0.1
                if paused:
                    paused = False
                    log.info("consumer resumed")
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # Redis or the database is away: nothing was acknowledged, so nothing is lost.
                if not paused:
                    log.warning("consumer paused, retrying with backoff: %s", exc)
                paused = True
                self._groups_ready = False
                if self._stopping:
                    return
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    async def _read(self) -> list[tuple[str, str, str]]:
        """Up to BATCH messages, from the highest-priority streams first; blocks briefly when all are empty."""
        batch: list[tuple[str, str, str]] = []
        for stream in self.names.all():
            room = self.BATCH - len(batch)
            if room <= 0:
                break
            batch += _entries(await self.redis.xreadgroup(GROUP, self.consumer, {stream: ">"}, count=room))
        if batch:
            return batch
        streams: dict[Any, Any] = dict.fromkeys(self.names.all(), ">")
        return _entries(
            await self.redis.xreadgroup(GROUP, self.consumer, streams, count=self.BATCH, block=self.BLOCK_MS)
        )

    async def _take_over(self) -> list[tuple[str, str, str]]:
        """Messages left unacknowledged by a consumer that died (idle longer than the claim timeout)."""
        batch: list[tuple[str, str, str]] = []
        for stream in self.names.all():
            result = await self.redis.xautoclaim(
                stream, GROUP, self.consumer, self.claim_idle_ms, "0-0", count=self.BATCH
            )
            for message_id, fields in result[1]:
                if fields:
                    batch.append((stream, message_id, fields["event_id"]))
        return batch

    async def _deliver(self, batch: list[tuple[str, str, str]]) -> None:
        assert self._dispatcher is not None
        ids = list(dict.fromkeys(event_id for _, _, event_id in batch))
        done = await self._dispatcher.deliver(ids)  # raises if its transaction failed: then nothing is acked
        async with self.redis.pipeline(transaction=False) as pipe:
            for stream, message_id, _ in batch:
                pipe.xack(stream, GROUP, message_id)
            for record in done:
                if record.status == EventStatus.FAILED:
                    pipe.xadd(self.names.dead, _dead_fields(record))  # type: ignore[arg-type]
            await pipe.execute()

    async def trim(self) -> int:
        """Trim each stream below what every group has acknowledged and delivered; return entries removed."""
        removed = 0
        for stream in self.names.all():
            try:
                groups = await self.redis.xinfo_groups(stream)
            except ResponseError:
                continue
            if not groups:
                continue
            floor: str | None = None
            for group in groups:
                candidates = [group["last-delivered-id"]]
                pending = await self.redis.xpending(stream, group["name"])
                if pending["pending"]:
                    candidates.append(pending["min"])
                low = min(candidates, key=_id_key)
                floor = low if floor is None else min(floor, low, key=_id_key)
            if floor and floor != "0-0":
                removed += int(await self.redis.xtrim(stream, minid=floor, approximate=True))
        return removed

    async def dead_letters(self, count: int = 100) -> list[dict[str, str]]:
        """The newest dead letters."""
        entries = await self.redis.xrevrange(self.names.dead, count=count)
        out = []
        for message_id, fields in entries or []:
            out.append({"message_id": str(message_id), **{str(k): str(v) for k, v in (fields or {}).items()}})
        return out


def _entries(response: Any) -> list[tuple[str, str, str]]:
    out = []
    for stream, messages in response or []:
        for message_id, fields in messages:
            out.append((stream, message_id, fields["event_id"]))
    return out


def _id_key(stream_id: str) -> tuple[int, int]:
    ms, _, seq = stream_id.partition("-")
    return int(ms), int(seq or 0)


def _dead_fields(record: EventRecord) -> dict[str, str]:
    """A dead-letter stream entry for an event that ended `failed`."""
    return {"event_id": record.event_id, "type": record.type, "error": (record.error or "")[:2000]}
