"""TTL deduplication of identical events: the first event with a key owns it until the TTL ends."""

from __future__ import annotations

import threading
import time
from typing import Protocol

from nixflow.store.redis_client import RedisTarget


class DedupStore(Protocol):
    def claim(self, key: str, owner: str, ttl_seconds: float) -> str:
        """Claim `key` for `owner`; return the owner that holds it (this one, or an earlier one)."""
        ...


class MemoryDedup:
    """In-process TTL map (embedded mode)."""

    def __init__(self) -> None:
        self._owners: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def claim(self, key: str, owner: str, ttl_seconds: float) -> str:
        now = time.monotonic()
        with self._lock:
            held = self._owners.get(key)
            if held is not None and held[1] > now:
                return held[0]
            if len(self._owners) > 10_000:
                self._owners = {k: v for k, v in self._owners.items() if v[1] > now}
            self._owners[key] = (owner, now + ttl_seconds)
            return owner


class RedisDedup:
    """Scale-out: one TTL map for every process, `SET key owner NX PX ttl`."""

    def __init__(self, url: str | RedisTarget, *, prefix: str) -> None:
        self.prefix = prefix
        self.redis = RedisTarget.of(url).client(decode_responses=True, socket_timeout=5, socket_connect_timeout=2)

    def claim(self, key: str, owner: str, ttl_seconds: float) -> str:
        name = f"{self.prefix}:{key}"
        ttl_ms = max(1, int(ttl_seconds * 1000))
        if self.redis.set(name, owner, nx=True, px=ttl_ms):
            return owner
        held = self.redis.get(name)
        if held is None:  # expired between the two calls: try once more
            return owner if self.redis.set(name, owner, nx=True, px=ttl_ms) else str(self.redis.get(name) or owner)
        return str(held)

    def close(self) -> None:
        self.redis.close()
