"""Recently seen valid credentials, so that most requests authenticate without reading the database.

Emptied by every event that can end or change a credential: at commit for this process's own changes
(before the request that made them is answered, so a logout or revocation works at once), and through
the log tailer for every other process's (within its poll interval). In scale-out mode that interval was
a window in which another process still let an ended session in: there, a process that commits such an
event also bumps a generation number in Redis before answering, and every process compares it before it
trusts its cache (one Redis GET a request; unreachable, the cache is not trusted and the database answers).
Entries also expire on their own after a few seconds, and never outlive the credential's own expiry.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

import redis
import redis.asyncio as aioredis

from nixflow.domain.envelope import EventRecord
from nixflow.services.auth import Authenticated

log = logging.getLogger(__name__)

# `user.*` events that cannot end or change anyone's credential; every other one empties the cache.
_HARMLESS = frozenset(
    {
        "user.created",
        "user.login",
        "user.login_failed",
        "user.token_created",
        "user.password_reset_requested",
        "user.mfa_challenge_failed",  # a wrong code must not empty every process's cache (a guesser's lever)
        "user.mfa_recovery_used",
        "user.mfa_enrolled",
        "user.mfa_policy_changed",
    }
)


class SharedGeneration(Protocol):
    """A number every process of a deployment sees, bumped whenever one of them ends or changes a credential."""

    def bump(self) -> None: ...

    async def current(self) -> str: ...

    async def close(self) -> None: ...


class RedisGeneration:
    """Scale-out: the shared generation is a Redis counter (bumped from the writer's thread, read on the loop)."""

    def __init__(self, url: str, *, prefix: str) -> None:
        self.key = f"{prefix}:credentials-generation"
        self.writer = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self.reader = aioredis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)

    def bump(self) -> None:
        self.writer.incr(self.key)

    async def current(self) -> str:
        found = await self.reader.get(self.key)
        return str(int(found or 0))

    async def close(self) -> None:
        self.writer.close()
        await self.reader.aclose()


class CredentialCache:
    """Token -> the credential it proved, for at most `ttl_seconds`."""

    def __init__(
        self, *, ttl_seconds: float = 5.0, max_entries: int = 10_000, shared: SharedGeneration | None = None
    ) -> None:
        self.ttl = ttl_seconds
        self.max_entries = max_entries
        self.shared = shared
        self._shared_seen: str | None = None
        self._entries: dict[str, tuple[Authenticated, float]] = {}
        self._generation = 0
        self._lock = threading.Lock()

    async def check_shared(self) -> None:
        """Scale-out: empty the cache if any process ended or changed a credential since the last look."""
        if self.shared is None:
            return
        try:
            seen = await self.shared.current()
        except Exception:  # Redis unreachable: trust nothing cached, the database answers
            log.warning("the shared credential generation is unreadable; the cache is bypassed", exc_info=True)
            seen = None
        if seen is None or seen != self._shared_seen:
            self._empty()
            self._shared_seen = seen

    @property
    def generation(self) -> int:
        """Read before looking a credential up in the database, and given back to `put`."""
        return self._generation

    def get(self, token: str, now: datetime) -> Authenticated | None:
        """The cached credential of `token`, if still fresh and unexpired."""
        entry = self._entries.get(token)
        if entry is None:
            return None
        found, stored = entry
        if time.monotonic() - stored > self.ttl or (found.expires_at is not None and found.expires_at <= now):
            self._entries.pop(token, None)
            return None
        return found

    def put(self, token: str, found: Authenticated, generation: int) -> None:
        """Remember a credential read at `generation`, unless the cache was emptied since (a revocation
        committed while it was being read)."""
        with self._lock:
            if generation != self._generation:
                return
            if len(self._entries) >= self.max_entries:
                self._entries = {}
            self._entries[token] = (found, time.monotonic())

    def observe(self, records: Sequence[EventRecord]) -> None:
        """Empty the cache if any of these committed events may end or change a credential."""
        if _changes_access(records):
            self._empty()

    def committed(self, records: Sequence[EventRecord]) -> None:
        """`observe` this process's own commit; in scale-out also tell every other process, before the request
        that made it is answered."""
        if _changes_access(records):
            self._empty()
            if self.shared is not None:
                self.shared.bump()

    def _empty(self) -> None:
        with self._lock:
            self._generation += 1
            self._entries = {}


def _changes_access(records: Sequence[EventRecord]) -> bool:
    return any(r.category == "user" and r.type not in _HARMLESS for r in records)
