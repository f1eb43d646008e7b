"""The transport port: the in-process queue and Redis Streams move committed events the same way."""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest
from tests.conftest import make_settings, redis_url

from nixflow.bootstrap import NixFlow, build
from nixflow.domain.envelope import EventContext, EventRecord
from nixflow.domain.values import EventStatus
from nixflow.events.bus import Handler
from nixflow.ids import uuid7
from nixflow.store import event_log
from nixflow.store.db import Tx

EVENT = "user.token_created"  # no handler of NixFlow's own reacts to it


class Recorder:
    """A handler that counts the events it handled, by id."""

    def __init__(self) -> None:
        self.seen: Counter[str] = Counter()

    def __call__(self, tx: Tx, event: EventRecord) -> None:
        self.seen[event.event_id] += 1


NUMBERS = itertools.count(1)


async def emit(nixflow: NixFlow, count: int) -> list[EventRecord]:
    """Commit `count` distinct events (identical ones would be deduplicated) in one unit of work; the
    writer hands them to the transport after commit."""

    def work(tx: Tx) -> list[EventRecord]:
        return [
            tx.emit(EVENT, aggregate_type="user", aggregate_id=1, data={"user_id": 1, "token_id": n})
            for n in itertools.islice(NUMBERS, count)
        ]

    ctx = EventContext(correlation_id=uuid7(), actor_id=None, source="test")
    records: list[EventRecord] = await nixflow.writer.run(work, ctx)
    return records


async def eventually(check: Any, *, within: float = 20.0) -> None:
    """Wait until `check()` holds; fail after `within` seconds (a bound, not a speed claim)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not check():
        assert loop.time() < deadline, "not delivered in time"
        await asyncio.sleep(0.02)


def statuses(nixflow: NixFlow, ids: list[str]) -> set[EventStatus]:
    return {r.status for r in nixflow.db.read_sync(lambda conn: event_log.find_by_ids(conn, ids))}


class TransportContract:
    """What every `Transport` does. Subclasses provide `settings_overrides` (the adapter to use)."""

    @pytest.fixture
    def settings_overrides(self) -> dict[str, Any]:
        raise NotImplementedError

    @pytest.fixture
    def recorder(self) -> Recorder:
        return Recorder()

    @pytest.fixture
    async def nixflow(
        self, sqlite_database: str, settings_overrides: dict[str, Any], recorder: Recorder
    ) -> AsyncIterator[NixFlow]:
        settings = make_settings(sqlite_database, **settings_overrides)
        # The async path only: events go through the transport, not the unit of work's own delivery.
        app = build(settings, handlers=[(EVENT, Handler("contract-recorder", recorder))], deliver_inline=False)
        await app.start(tick=False)  # no sweeper: only the transport's fast path delivers
        yield app
        await app.stop()

    async def test_committed_events_reach_their_handler_once_each(self, nixflow: NixFlow, recorder: Recorder) -> None:
        records = await emit(nixflow, 40)
        ids = [r.event_id for r in records]
        await eventually(lambda: len(recorder.seen) == len(ids))
        await eventually(lambda: statuses(nixflow, ids) == {EventStatus.COMPLETED})
        assert set(recorder.seen) == set(ids) and set(recorder.seen.values()) == {1}

    async def test_events_handed_over_again_are_not_handled_again(self, nixflow: NixFlow, recorder: Recorder) -> None:
        records = await emit(nixflow, 5)
        ids = [r.event_id for r in records]
        await eventually(lambda: statuses(nixflow, ids) == {EventStatus.COMPLETED})
        sent_again = nixflow.db.read_sync(lambda conn: event_log.find_by_ids(conn, ids))
        nixflow.transport.publish(sent_again)  # what the sweeper or a replayed stream entry does
        more = await emit(nixflow, 1)  # a later event: once it is handled, the re-sent ones were processed
        # Same priority, published later: once it is handled, so were the re-sent ones (in that batch or before).
        await eventually(lambda: more[0].event_id in recorder.seen)
        assert set(recorder.seen.values()) == {1}

    async def test_publish_may_be_called_from_another_thread(self, nixflow: NixFlow, recorder: Recorder) -> None:
        nixflow.writer.listeners.remove(nixflow.publish_unfinished)  # only the thread below hands it over
        [record] = await emit(nixflow, 1)
        stored = nixflow.db.read_sync(lambda conn: event_log.find_by_ids(conn, [record.event_id]))
        thread = threading.Thread(target=nixflow.transport.publish, args=(stored,))
        thread.start()
        thread.join()
        await eventually(lambda: recorder.seen[record.event_id] == 1)

    async def test_health_names_the_transport(self, nixflow: NixFlow) -> None:
        assert await nixflow.transport.health() in {"embedded", "ok"}


class TestInProcessTransport(TransportContract):
    @pytest.fixture
    def settings_overrides(self) -> dict[str, Any]:
        return {}


@pytest.mark.redis
class TestRedisStreamsTransport(TransportContract):
    @pytest.fixture
    def settings_overrides(self, redis_prefix: str) -> dict[str, Any]:
        return {"redis_url": redis_url(), "redis_prefix": redis_prefix}
