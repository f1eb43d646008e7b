"""One way to reach Redis for every part of NixFlow: a plain `NIXFLOW_REDIS_URL`, or the primary that Redis
Sentinel names (`NIXFLOW_REDIS_SENTINELS`, `NIXFLOW_REDIS_SENTINEL_SERVICE`), so a failover is followed the same
way by the event streams, the round-robin counters, presence, dedup and WebSocket tickets.

With Sentinel the URL still gives the database number, user and password; its host and port are not used. A
client asks the sentinels for the primary when it connects, and a command that reaches a demoted primary fails
as a connection error (redis-py's sentinel-managed connections), which every caller already treats as an outage:
retried with backoff, a 503 at the API, and the events stay `pending` in the log until they are delivered.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import redis
import redis.asyncio as aioredis
from redis.asyncio.sentinel import Sentinel as AsyncSentinel
from redis.asyncio.sentinel import SentinelManagedSSLConnection as AsyncSentinelSSLConnection
from redis.connection import parse_url
from redis.sentinel import Sentinel, SentinelManagedSSLConnection

from nixflow.config import Settings

Address = tuple[str, int]


def parse_sentinels(spec: str) -> tuple[Address, ...]:
    """`host:port,host:port` as addresses (ValueError on a bad one)."""
    addresses = []
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        host, sep, port = part.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"{part!r} is not host:port")
        addresses.append((host.strip("[]"), int(port)))
    if not addresses:
        raise ValueError("no sentinel address")
    return tuple(addresses)


@dataclass(frozen=True)
class RedisTarget:
    """Where Redis is: a URL, and the sentinels that name its primary when there are any."""

    url: str
    sentinels: tuple[Address, ...] = ()
    service: str = "nixflow"

    @classmethod
    def of(cls, target: RedisTarget | str) -> RedisTarget:
        return target if isinstance(target, RedisTarget) else cls(target)

    def _primary_options(self, tls_connection: type) -> dict[str, Any]:
        """The URL's database, user and password (and TLS, with `tls_connection`) for connections to whichever
        server is primary."""
        skip = ("host", "port", "path", "connection_class")
        parsed: dict[str, Any] = parse_url(self.url)  # type: ignore[no-untyped-call]
        options = {k: v for k, v in parsed.items() if k not in skip}
        if self.url.startswith("rediss://"):
            options["connection_class"] = tls_connection
        return options

    def client(self, **options: Any) -> redis.Redis:
        """A blocking client (`decode_responses`, timeouts... as `options`)."""
        if not self.sentinels:
            return redis.Redis.from_url(self.url, **options)
        sentinel = Sentinel(list(self.sentinels), sentinel_kwargs=_sentinel_options(options))
        primary: redis.Redis = sentinel.master_for(
            self.service, **self._primary_options(SentinelManagedSSLConnection), **options
        )
        return primary

    def async_client(self, **options: Any) -> aioredis.Redis:
        """An asyncio client, like `client`."""
        if not self.sentinels:
            return aioredis.from_url(self.url, **options)
        sentinel = AsyncSentinel(list(self.sentinels), sentinel_kwargs=_sentinel_options(options))
        primary: aioredis.Redis = sentinel.master_for(
            self.service, **self._primary_options(AsyncSentinelSSLConnection), **options
        )
        return primary


def _sentinel_options(options: dict[str, Any]) -> dict[str, Any]:
    """The sentinels themselves are asked with the same timeouts (never without one: a dead sentinel must not
    hang a caller)."""
    return {
        "socket_timeout": options.get("socket_timeout", 5),
        "socket_connect_timeout": options.get("socket_connect_timeout", 2),
    }


def redis_target(settings: Settings) -> RedisTarget | None:
    """Scale-out's Redis from the settings, or None in embedded mode."""
    if not settings.redis_url:
        return None
    sentinels = parse_sentinels(settings.redis_sentinels) if settings.redis_sentinels else ()
    return RedisTarget(settings.redis_url, sentinels, settings.redis_sentinel_service)
