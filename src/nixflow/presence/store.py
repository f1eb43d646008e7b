"""Where presence lives: one entry per connection and ticket, gone `ttl` seconds after its last write.

Two implementations of one small interface: `MemoryPresence` (embedded: one process) and `RedisPresence`
(scale-out: every API process reads every other's entries). Both are synchronous; the hub calls them off the loop.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Protocol

from nixflow.store.redis_client import RedisTarget

NAME_LIMIT = 80  # a name is shown, not searched: a long one is cut, so an entry stays a few dozen bytes


@dataclass(frozen=True)
class Presence:
    """One connection on a ticket's page: whose it is and whether they are typing a reply."""

    connection: str
    user_id: int
    name: str
    typing: bool = False


class PresenceStore(Protocol):
    def put(self, ticket_id: int, presence: Presence, ttl_seconds: float) -> None:
        """Announce (or refresh) `presence` on a ticket; it ends `ttl_seconds` after the last put."""
        ...

    def remove(self, ticket_id: int, connection: str) -> None:
        """End a connection's presence on a ticket at once."""
        ...

    def on_ticket(self, ticket_id: int) -> list[Presence]:
        """Every live presence on a ticket (expired ones are gone), by connection."""
        ...


class MemoryPresence:
    """Embedded mode: one process, one dictionary, the same TTL semantics as Redis keys."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._tickets: dict[int, dict[str, tuple[Presence, float]]] = {}
        self._lock = threading.Lock()

    def put(self, ticket_id: int, presence: Presence, ttl_seconds: float) -> None:
        with self._lock:
            entry = (replace(presence, name=presence.name[:NAME_LIMIT]), self._clock() + ttl_seconds)
            self._tickets.setdefault(ticket_id, {})[presence.connection] = entry

    def remove(self, ticket_id: int, connection: str) -> None:
        with self._lock:
            entries = self._tickets.get(ticket_id)
            if entries is not None:
                entries.pop(connection, None)
                if not entries:
                    del self._tickets[ticket_id]

    def on_ticket(self, ticket_id: int) -> list[Presence]:
        now = self._clock()
        with self._lock:
            entries = self._tickets.get(ticket_id, {})
            for connection in [c for c, (_, expires) in entries.items() if expires <= now]:
                del entries[connection]
            if not entries:
                self._tickets.pop(ticket_id, None)
            return sorted((presence for presence, _ in entries.values()), key=lambda p: p.connection)


# The ticket's index set lists connections; an entry key that has expired is dropped from it as it is read.
# Answers connection, entry, connection, entry, ...
_READ = """
local found = {}
for _, connection in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local value = redis.call('GET', ARGV[1] .. connection)
  if value then
    table.insert(found, connection)
    table.insert(found, value)
  else
    redis.call('SREM', KEYS[1], connection)
  end
end
return found
"""


class RedisPresence:
    """Scale-out: a key per connection with a TTL (`SET ... PX`), and a set per ticket naming them."""

    def __init__(self, url: str | RedisTarget, *, prefix: str) -> None:
        self.prefix = prefix
        self.redis = RedisTarget.of(url).client(decode_responses=True, socket_timeout=5, socket_connect_timeout=2)
        self._read = self.redis.register_script(_READ)

    def _index(self, ticket_id: int) -> str:
        return f"{self.prefix}:presence:{ticket_id}"

    def put(self, ticket_id: int, presence: Presence, ttl_seconds: float) -> None:
        index, ttl = self._index(ticket_id), max(1, int(ttl_seconds * 1000))
        value = json.dumps([presence.user_id, presence.name[:NAME_LIMIT], presence.typing])
        with self.redis.pipeline() as pipe:
            pipe.set(f"{index}:{presence.connection}", value, px=ttl)
            pipe.sadd(index, presence.connection)
            pipe.pexpire(index, ttl, gt=True)  # the index outlives its longest entry, never the other way
            pipe.pexpire(index, ttl, nx=True)
            pipe.execute()

    def remove(self, ticket_id: int, connection: str) -> None:
        index = self._index(ticket_id)
        with self.redis.pipeline() as pipe:
            pipe.delete(f"{index}:{connection}")
            pipe.srem(index, connection)
            pipe.execute()

    def on_ticket(self, ticket_id: int) -> list[Presence]:
        index = self._index(ticket_id)
        flat: list[str] = self._read(keys=[index], args=[f"{index}:"])
        found = []
        for connection, value in zip(flat[::2], flat[1::2], strict=True):
            user_id, name, typing = json.loads(value)
            found.append(Presence(connection, int(user_id), str(name), bool(typing)))
        return sorted(found, key=lambda p: p.connection)

    def close(self) -> None:
        self.redis.close()
