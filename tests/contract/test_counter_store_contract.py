"""The round-robin counter port: the SQL rows (SQLite, PostgreSQL) and Redis `INCR` behave the same."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.conftest import redis_url
from tests.contract.conftest import open_writer, rolled_back, unit_of_work

from nixflow.automation.round_robin import CounterStore, RedisCounterStore, SqlCounterStore
from nixflow.ids import uuid7
from nixflow.store.db import Tx
from nixflow.store.writer import Writer


class CounterStoreContract:
    """What every `CounterStore` does. Subclasses provide `store` and `writer` (a real database)."""

    @pytest.fixture
    def store(self) -> Iterator[CounterStore]:
        raise NotImplementedError

    @pytest.fixture
    def writer(self) -> Iterator[Writer]:
        raise NotImplementedError

    def advance(self, writer: Writer, store: CounterStore, key: str, turn: str | None = None) -> int:
        return int(unit_of_work(writer, lambda tx: store.advance(tx, key, turn=turn or uuid7())))

    def values(self, writer: Writer, store: CounterStore) -> dict[str, int]:
        return {c["key"]: c["value"] for c in unit_of_work(writer, lambda tx: store.all(tx.conn))}

    def test_advance_returns_the_value_before_and_counts_each_key_apart(
        self, store: CounterStore, writer: Writer
    ) -> None:
        assert [self.advance(writer, store, "category:1") for _ in range(3)] == [0, 1, 2]
        assert self.advance(writer, store, "category:2") == 0
        assert self.values(writer, store) == {"category:1": 3, "category:2": 1}

    def test_a_retried_turn_advances_once(self, store: CounterStore, writer: Writer) -> None:
        turn = f"{uuid7()}:42"  # the triggering event and the ticket
        first = rolled_back(writer, lambda tx: store.advance(tx, "category:7", turn=turn))
        again = self.advance(writer, store, "category:7", turn)
        assert (first, again) == (0, 0)
        assert self.values(writer, store) == {"category:7": 1}
        assert self.advance(writer, store, "category:7") == 1  # another event takes the next turn

    def test_turns_taken_in_one_unit_of_work_each_get_the_next_value(self, store: CounterStore, writer: Writer) -> None:
        cause = uuid7()  # one event handing out several tickets, as when an agent leaves

        def hand_out(tx: Tx) -> list[int]:
            return [store.advance(tx, "category:3", turn=f"{cause}:{ticket}") for ticket in (11, 12, 13)]

        assert unit_of_work(writer, hand_out) == [0, 1, 2]

    def test_counters_are_listed_by_key_with_when_they_moved(self, store: CounterStore, writer: Writer) -> None:
        for key in ("category:9", "category:10", "category:9"):
            self.advance(writer, store, key)
        listed = unit_of_work(writer, lambda tx: store.all(tx.conn))
        assert [(c["key"], c["value"]) for c in listed] == [("category:10", 1), ("category:9", 2)]
        assert all(c["updated_at"] is not None for c in listed)

    def test_reset_one_then_all(self, store: CounterStore, writer: Writer) -> None:
        for key in ("category:1", "category:1", "category:2", "category:3"):
            self.advance(writer, store, key)
        assert unit_of_work(writer, lambda tx: store.reset(tx, "category:1")) == 1
        assert unit_of_work(writer, lambda tx: store.reset(tx, "category:404")) == 0
        assert self.advance(writer, store, "category:1") == 0  # starts over
        assert unit_of_work(writer, lambda tx: store.reset(tx, None)) == 3
        assert self.values(writer, store) == {}


class TestSqlCounterStoreOnSQLite(CounterStoreContract):
    @pytest.fixture
    def store(self) -> Iterator[CounterStore]:
        yield SqlCounterStore()

    @pytest.fixture
    def writer(self, sqlite_database: str) -> Iterator[Writer]:
        yield from open_writer(sqlite_database)


@pytest.mark.postgres
class TestSqlCounterStoreOnPostgreSQL(CounterStoreContract):
    @pytest.fixture
    def store(self) -> Iterator[CounterStore]:
        yield SqlCounterStore()

    @pytest.fixture
    def writer(self, postgres_database: str) -> Iterator[Writer]:
        yield from open_writer(postgres_database)


@pytest.mark.redis
class TestRedisCounterStore(CounterStoreContract):
    @pytest.fixture
    def store(self, redis_prefix: str) -> Iterator[CounterStore]:
        url = redis_url()
        assert url is not None
        store = RedisCounterStore(url, prefix=redis_prefix)
        yield store
        store.redis.close()

    @pytest.fixture
    def writer(self, sqlite_database: str) -> Iterator[Writer]:
        yield from open_writer(sqlite_database)
