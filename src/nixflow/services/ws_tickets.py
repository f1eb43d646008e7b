"""WebSocket tickets: a short-lived, single-use stand-in for a credential in the `/api/ws` URL, so that the
session or API token itself never appears in a URL (and so in no access log). A ticket stands for the
credential that asked for it: the socket it opens lives only as long as that credential."""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from typing import Protocol

from nixflow.store.redis_client import RedisTarget

TICKET_SECONDS = 30


class TicketStore(Protocol):
    def put(self, key: str, token_id: int, ttl_seconds: float) -> None:
        """Remember that `key` stands for the credential `token_id`, for `ttl_seconds`."""
        ...

    def take(self, key: str) -> int | None:
        """The credential `key` stands for, once: it is gone after this call (atomically, across processes)."""
        ...


class MemoryTickets:
    """Embedded mode: one process, one dictionary."""

    def __init__(self) -> None:
        self._tickets: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()

    def put(self, key: str, token_id: int, ttl_seconds: float) -> None:
        now = time.monotonic()
        with self._lock:
            if len(self._tickets) > 10_000:
                self._tickets = {k: v for k, v in self._tickets.items() if v[1] > now}
            self._tickets[key] = (token_id, now + ttl_seconds)

    def take(self, key: str) -> int | None:
        with self._lock:
            found = self._tickets.pop(key, None)
        if found is None or found[1] <= time.monotonic():
            return None
        return found[0]


class RedisTickets:
    """Scale-out: every API process sees every ticket; `GETDEL` hands it to exactly one of them."""

    def __init__(self, url: str | RedisTarget, *, prefix: str) -> None:
        self.prefix = prefix
        self.redis = RedisTarget.of(url).client(decode_responses=True, socket_timeout=5, socket_connect_timeout=2)

    def put(self, key: str, token_id: int, ttl_seconds: float) -> None:
        self.redis.set(f"{self.prefix}:ws-ticket:{key}", str(token_id), px=max(1, int(ttl_seconds * 1000)))

    def take(self, key: str) -> int | None:
        found = self.redis.getdel(f"{self.prefix}:ws-ticket:{key}")
        return int(found) if found is not None else None

    def close(self) -> None:
        self.redis.close()


def _key(ticket: str) -> str:
    # Stored hashed, like tokens: whoever reads the store cannot connect with what they read.
    return hashlib.sha256(ticket.encode()).hexdigest()


def issue(store: TicketStore, *, token_id: int, ttl_seconds: float = TICKET_SECONDS) -> str:
    """A new ticket for the credential `token_id`."""
    ticket = secrets.token_urlsafe(32)
    store.put(_key(ticket), token_id, ttl_seconds)
    return ticket


def redeem(store: TicketStore, ticket: str) -> int | None:
    """The credential a ticket stands for, if it is known and fresh; a ticket works once."""
    if not ticket or len(ticket) > 128:
        return None
    return store.take(_key(ticket))
