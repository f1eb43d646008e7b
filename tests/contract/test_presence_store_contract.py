"""The presence port: in memory (embedded) and in Redis (scale-out), an entry is seen until it is removed or its
TTL runs out, each entry on its own clock, and a write refreshes it."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import redis
from tests.conftest import redis_url

from nixflow.presence.store import NAME_LIMIT, MemoryPresence, Presence, PresenceStore, RedisPresence

LONG = 60.0
SHORT = 0.3


def until_gone(store: PresenceStore, ticket_id: int, connection: str) -> list[Presence]:
    """Poll until `connection` is no longer on the ticket (a few seconds at most); what is left then."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        left = store.on_ticket(ticket_id)
        if all(p.connection != connection for p in left):
            return left
        time.sleep(0.02)
    raise AssertionError(f"{connection} still present after 5 s")


class PresenceStoreContract:
    """What every `PresenceStore` does. Subclasses provide `store`."""

    @pytest.fixture
    def store(self) -> Iterator[PresenceStore]:
        raise NotImplementedError

    def test_entries_are_seen_per_ticket_until_removed(self, store: PresenceStore) -> None:
        ann, bob = Presence("c-ann", 3, "Ann"), Presence("c-bob", 4, "Bob", typing=True)
        store.put(1, ann, LONG)
        store.put(1, bob, LONG)
        store.put(2, Presence("c-cy", 5, "Cy"), LONG)
        assert store.on_ticket(1) == [ann, bob]
        store.put(1, Presence("c-ann", 3, "Ann", typing=True), LONG)  # a change replaces the entry
        assert store.on_ticket(1) == [Presence("c-ann", 3, "Ann", typing=True), bob]
        store.remove(1, "c-bob")
        store.remove(1, "c-nobody")  # removing what is not there is no error
        assert [p.connection for p in store.on_ticket(1)] == ["c-ann"]
        assert [p.connection for p in store.on_ticket(2)] == ["c-cy"]
        assert store.on_ticket(3) == []

    def test_an_entry_ends_with_its_ttl_and_others_stay(self, store: PresenceStore) -> None:
        store.put(7, Presence("c-long", 3, "Ann"), LONG)
        store.put(7, Presence("c-short", 4, "Bob"), SHORT)  # shorter, written last: must not end the other
        assert {p.connection for p in store.on_ticket(7)} == {"c-long", "c-short"}
        started = time.monotonic()
        left = until_gone(store, 7, "c-short")
        assert time.monotonic() - started > SHORT / 2  # expired, not lost at once
        assert [p.connection for p in left] == ["c-long"]

    def test_a_write_refreshes_an_entry(self, store: PresenceStore) -> None:
        store.put(8, Presence("c-ann", 3, "Ann"), SHORT)
        store.put(8, Presence("c-ann", 3, "Ann"), LONG)  # the process holding the socket refreshes it
        store.put(8, Presence("c-probe", 4, "Bob"), SHORT)
        until_gone(store, 8, "c-probe")  # a later-written SHORT entry is gone: the refreshed one would be too
        assert [p.connection for p in store.on_ticket(8)] == ["c-ann"]

    def test_a_long_name_is_cut(self, store: PresenceStore) -> None:
        store.put(9, Presence("c-long-name", 3, "A" * 500), LONG)
        (found,) = store.on_ticket(9)
        assert len(found.name) <= NAME_LIMIT


class TestMemoryPresence(PresenceStoreContract):
    @pytest.fixture
    def store(self) -> Iterator[PresenceStore]:
        yield MemoryPresence()


@pytest.mark.redis
class TestRedisPresence(PresenceStoreContract):
    @pytest.fixture
    def store(self, redis_prefix: str) -> Iterator[PresenceStore]:
        url = redis_url()
        assert url is not None
        store = RedisPresence(url, prefix=redis_prefix)
        yield store
        store.close()

    def test_expired_entries_leave_the_ticket_index(self, store: PresenceStore, redis_prefix: str) -> None:
        store.put(11, Presence("c-short", 4, "Bob"), SHORT)
        until_gone(store, 11, "c-short")
        client = redis.Redis.from_url(str(redis_url()))
        try:  # the index set forgets it as it is read, then expires with its last entry: no key is left behind
            assert client.smembers(f"{redis_prefix}:presence:11") == set()
            assert list(client.scan_iter(f"{redis_prefix}:presence:*")) == []
        finally:
            client.close()
