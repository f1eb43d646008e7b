"""Round-robin assignment: per category, over its eligible agents by id, index = counter mod size.

The counter lives behind `CounterStore`: a SQL row advanced with `UPDATE ... RETURNING` inside the
handler's transaction (so a redelivered event, whose receipt is already stored, never advances it twice).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import Connection, bindparam, delete, select
from sqlalchemy.dialects import postgresql, sqlite

from nixflow.domain.errors import NotFound
from nixflow.domain.values import Role
from nixflow.store.db import Tx
from nixflow.store.fast import Fast
from nixflow.store.redis_client import RedisTarget
from nixflow.store.tables import SYSTEM_USER_ID, category_agents, round_robin_counters, users


class CounterStore(Protocol):
    """Round-robin counters: advanced atomically, listed and reset."""

    def advance(self, tx: Tx, key: str, *, turn: str) -> int:
        """Add one to the counter `key` and return the value it had before.

        `turn` names this pick (the triggering event and the ticket): taken again, as when a delivery that
        rolled back is redelivered, it gets the same value and the counter does not move twice.
        """
        ...

    def all(self, conn: Connection) -> list[dict[str, Any]]:
        """Every counter: key, value, updated_at."""
        ...

    def reset(self, tx: Tx, key: str | None) -> int:
        """Reset one counter (or all, for None) to zero; return how many were reset."""
        ...


# The advance statement per dialect, built once (it is on every round-robin assignment).
_SQL_ADVANCE: dict[str, Fast] = {}


class SqlCounterStore:
    """Counters as rows of `round_robin_counters`: the advance rolls back with its unit of work, so a
    retried turn advances once without remembering turns."""

    def advance(self, tx: Tx, key: str, *, turn: str) -> int:
        statement = _SQL_ADVANCE.get(tx.conn.dialect.name)
        if statement is None:
            dialect = sqlite if tx.conn.dialect.name == "sqlite" else postgresql
            table = round_robin_counters
            now = bindparam("b_now", type_=table.c.updated_at.type)
            statement = _SQL_ADVANCE[tx.conn.dialect.name] = Fast(  # built for this database: its ON CONFLICT
                dialect.insert(table)
                .values(key=bindparam("b_key"), value=1, updated_at=now)
                .on_conflict_do_update(
                    index_elements=[table.c.key], set_={"value": table.c.value + 1, "updated_at": now}
                )
                .returning(table.c.value),
                sqlite=dialect is sqlite,
            )
        (row,) = statement.all(tx.conn, {"b_key": key, "b_now": tx.now})
        return int(row["value"]) - 1

    def all(self, conn: Connection) -> list[dict[str, Any]]:
        rows = conn.execute(select(round_robin_counters).order_by(round_robin_counters.c.key))
        return [dict(r._mapping) for r in rows]

    def reset(self, tx: Tx, key: str | None) -> int:
        statement = delete(round_robin_counters)
        if key is not None:
            statement = statement.where(round_robin_counters.c.key == key)
        return int(tx.conn.execute(statement).rowcount)


def category_key(category_id: int) -> str:
    """The counter key of a category."""
    return f"category:{category_id}"


_ELIGIBLE = Fast(
    select(users.c.id)
    .join(category_agents, category_agents.c.user_id == users.c.id)
    .where(
        category_agents.c.category_id == bindparam("b_category_id"),
        users.c.role == Role.AGENT.value,
        users.c.active.is_(True),
        users.c.id != SYSTEM_USER_ID,
    )
    .order_by(users.c.id)
)


def eligible_agents(conn: Connection, category_id: int) -> list[int]:
    """Active agents of a category, by id; never the system user."""
    return [int(r["id"]) for r in _ELIGIBLE.all(conn, {"b_category_id": category_id})]


def pick(tx: Tx, store: CounterStore, category_id: int, *, ticket_id: int) -> int | None:
    """The next agent of a category (advancing its counter), or None when it has no eligible agent."""
    agents = eligible_agents(tx.conn, category_id)
    if not agents:
        return None
    turn = f"{tx.ctx.causation_id or tx.ctx.correlation_id}:{ticket_id}"
    return agents[store.advance(tx, category_key(category_id), turn=turn) % len(agents)]


def get_counter(conn: Connection, store: CounterStore, key: str) -> dict[str, Any]:
    """One counter; NotFound if it was never advanced (or was reset)."""
    for counter in store.all(conn):
        if counter["key"] == key:
            return counter
    raise NotFound(f"no round-robin counter '{key}'")


def reset(tx: Tx, store: CounterStore, key: str | None) -> int:
    """Reset one counter or all; emits `automation.counter_reset`. NotFound for an unknown key."""
    count = store.reset(tx, key)
    if key is not None and count == 0:
        raise NotFound(f"no round-robin counter '{key}'")
    tx.emit("automation.counter_reset", aggregate_type="round_robin", aggregate_id=key or "*", data={"key": key})
    return count


# KEYS: counter, memo, updated-at hash. ARGV: memo TTL seconds, key name, now (ISO).
# The memo makes the advance idempotent per turn (triggering event and ticket): a redelivered or replayed
# event (whose first attempt may have rolled back after the INCR) gets the same value again.
_ADVANCE = """
local seen = redis.call('GET', KEYS[2])
if seen then return tonumber(seen) end
local value = redis.call('INCR', KEYS[1])
redis.call('SET', KEYS[2], value, 'EX', ARGV[1])
redis.call('HSET', KEYS[3], ARGV[2], ARGV[3])
return value
"""


class RedisCounterStore:
    """Scale-out: counters are Redis `INCR`s shared by every worker, memoised per triggering event."""

    MEMO_SECONDS = 7 * 24 * 3600

    def __init__(self, url: str | RedisTarget, *, prefix: str) -> None:
        self.redis = RedisTarget.of(url).client(decode_responses=True, socket_timeout=5, socket_connect_timeout=2)
        self.prefix = f"{prefix}:rr"
        self._advance = self.redis.register_script(_ADVANCE)

    def _counter(self, key: str) -> str:
        return f"{self.prefix}:counter:{key}"

    def advance(self, tx: Tx, key: str, *, turn: str) -> int:
        memo = f"{self.prefix}:memo:{turn}:{key}"
        keys = [self._counter(key), memo, f"{self.prefix}:updated"]
        value = self._advance(keys=keys, args=[self.MEMO_SECONDS, key, tx.now.isoformat()])
        return int(value) - 1

    def all(self, conn: Connection) -> list[dict[str, Any]]:
        names = sorted(self.redis.scan_iter(f"{self.prefix}:counter:*"))
        if not names:
            return []
        keys = [name.split(":counter:", 1)[1] for name in names]
        values = self.redis.mget(names)
        updated = self.redis.hmget(f"{self.prefix}:updated", keys)
        return [
            {
                "key": key,
                "value": int(value),
                "updated_at": datetime.fromisoformat(str(when)) if when else datetime.now(UTC),
            }
            for key, value, when in zip(keys, values, updated, strict=True)
            if value is not None
        ]

    def reset(self, tx: Tx, key: str | None) -> int:
        names = [self._counter(key)] if key is not None else list(self.redis.scan_iter(f"{self.prefix}:counter:*"))
        return int(self.redis.delete(*names)) if names else 0
