"""The WebSocket ticket port: in memory (embedded) and in Redis (scale-out) a ticket works once, and not late."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from tests.conftest import redis_url

from nixflow.services import ws_tickets
from nixflow.services.ws_tickets import MemoryTickets, RedisTickets, TicketStore


class TicketStoreContract:
    """What every `TicketStore` does. Subclasses provide `store`."""

    @pytest.fixture
    def store(self) -> Iterator[TicketStore]:
        raise NotImplementedError

    def test_a_ticket_stands_for_its_credential_once(self, store: TicketStore) -> None:
        ticket = ws_tickets.issue(store, token_id=42)
        assert ws_tickets.redeem(store, ticket) == 42
        assert ws_tickets.redeem(store, ticket) is None

    def test_an_unknown_or_stale_ticket_stands_for_nothing(self, store: TicketStore) -> None:
        assert ws_tickets.redeem(store, "never-issued") is None
        assert ws_tickets.redeem(store, "") is None
        stale = ws_tickets.issue(store, token_id=7, ttl_seconds=0.05)
        time.sleep(0.2)
        assert ws_tickets.redeem(store, stale) is None

    def test_of_many_parallel_redeemers_exactly_one_wins(self, store: TicketStore) -> None:
        ticket = ws_tickets.issue(store, token_id=9)
        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(lambda _: ws_tickets.redeem(store, ticket), range(16)))
        assert sorted(results, key=lambda r: r is None) == [9] + [None] * 15

    def test_the_store_keeps_only_a_hash(self, store: TicketStore) -> None:
        ticket = ws_tickets.issue(store, token_id=5)
        assert store.take(ticket) is None  # the plain ticket is not a key
        assert ws_tickets.redeem(store, ticket) == 5


class TestMemoryTickets(TicketStoreContract):
    @pytest.fixture
    def store(self) -> Iterator[TicketStore]:
        yield MemoryTickets()


@pytest.mark.redis
class TestRedisTickets(TicketStoreContract):
    @pytest.fixture
    def store(self, redis_prefix: str) -> Iterator[TicketStore]:
        url = redis_url()
        assert url is not None
        store = RedisTickets(url, prefix=redis_prefix)
        yield store
        store.close()
