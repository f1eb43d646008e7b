"""The TTL deduplication port: the in-process map and Redis `SET NX PX` behave the same."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from tests.conftest import redis_url

from nixflow.events.dedup import DedupStore, MemoryDedup, RedisDedup


class DedupStoreContract:
    """What every `DedupStore` does. Subclasses provide `store`."""

    @pytest.fixture
    def store(self) -> Iterator[DedupStore]:
        raise NotImplementedError

    def test_the_first_claim_owns_the_key_until_its_ttl_ends(self, store: DedupStore) -> None:
        assert store.claim("ticket.created:abc", "event-1", 1.0) == "event-1"
        assert store.claim("ticket.created:abc", "event-2", 1.0) == "event-1"
        time.sleep(1.2)
        assert store.claim("ticket.created:abc", "event-3", 1.0) == "event-3"

    def test_keys_are_independent(self, store: DedupStore) -> None:
        assert store.claim("a", "event-1", 5) == "event-1"
        assert store.claim("b", "event-2", 5) == "event-2"

    def test_the_owner_claiming_again_still_owns_it(self, store: DedupStore) -> None:
        assert store.claim("k", "event-1", 5) == "event-1"
        assert store.claim("k", "event-1", 5) == "event-1"

    def test_concurrent_claims_agree_on_one_owner(self, store: DedupStore) -> None:
        with ThreadPoolExecutor(max_workers=8) as pool:
            owners = list(pool.map(lambda n: store.claim("race", f"event-{n}", 5), range(32)))
        assert len(set(owners)) == 1 and owners[0].startswith("event-")


class TestMemoryDedup(DedupStoreContract):
    @pytest.fixture
    def store(self) -> Iterator[DedupStore]:
        yield MemoryDedup()


@pytest.mark.redis
class TestRedisDedup(DedupStoreContract):
    @pytest.fixture
    def store(self, redis_prefix: str) -> Iterator[DedupStore]:
        url = redis_url()
        assert url is not None
        store = RedisDedup(url, prefix=redis_prefix)
        yield store
        store.close()
