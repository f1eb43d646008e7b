"""Housekeeping: forget what has served its time, so tables stay the size of what is still in use.

Idempotency keys after their 24 h, sign-in attempts after their window, sessions a week after they
expired or were revoked, and, only when a retention is configured, finished events (and what the features
keep with them, like finished webhook deliveries: `Retention.with_the_log`, given by bootstrap) older than it.
Every delete goes through an indexed time column (or a small table), so its cost follows what is old.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import Connection, delete, or_

from nixflow.domain.envelope import EventContext
from nixflow.ids import uuid7
from nixflow.services.idempotency import KEY_LIFETIME
from nixflow.store import event_log
from nixflow.store.db import Tx
from nixflow.store.tables import api_tokens, idempotency_keys, login_attempts, password_resets
from nixflow.store.writer import Writer

log = logging.getLogger(__name__)

ENDED_SESSIONS_KEPT = timedelta(days=7)  # still listed by GET /api/auth/tokens for a while, then gone


class Cleanup(Protocol):
    """Delete finished rows made before `older_than`; how many."""

    def __call__(self, conn: Connection, *, older_than: datetime) -> int: ...


@dataclass(frozen=True)
class Retention:
    login_window: timedelta
    events: timedelta | None = None  # None: the event log is kept whole (`nixflow events cleanup` by hand)
    # What features keep as long as the events (by name: `webhook_deliveries`), cleaned up with them.
    with_the_log: Mapping[str, Cleanup] = field(default_factory=dict)


def sweep(tx: Tx, *, retention: Retention) -> dict[str, int]:
    """Delete what is past its time as of `tx.now`; how many rows of each kind went."""
    now = tx.now
    ended = now - ENDED_SESSIONS_KEPT
    done = {
        "idempotency_keys": tx.conn.execute(
            delete(idempotency_keys).where(idempotency_keys.c.created_at <= now - KEY_LIFETIME)
        ).rowcount,
        "login_attempts": tx.conn.execute(
            delete(login_attempts).where(login_attempts.c.at <= now - retention.login_window)
        ).rowcount,
        "sessions": tx.conn.execute(
            delete(api_tokens).where(
                api_tokens.c.kind == "session",
                or_(api_tokens.c.revoked_at <= ended, api_tokens.c.expires_at <= ended),
            )
        ).rowcount,
        "password_resets": tx.conn.execute(
            delete(password_resets).where(password_resets.c.expires_at <= ended)
        ).rowcount,
        "events": event_log.cleanup(tx.conn, older_than=now - retention.events) if retention.events else 0,
    }
    for kind, cleanup in retention.with_the_log.items():
        done[kind] = cleanup(tx.conn, older_than=now - retention.events) if retention.events else 0
    return {kind: int(count) for kind, count in done.items()}


class Housekeeping:
    """The periodic job: a sweep every `every`, whatever the tick (each tick only checks the time)."""

    def __init__(self, *, writer: Writer, retention: Retention, every: timedelta = timedelta(hours=1)) -> None:
        self.writer = writer
        self.retention = retention
        self.every = every
        self._next: datetime | None = None

    async def __call__(self, now: datetime) -> int:
        if self._next is not None and now < self._next:
            return 0
        ctx = EventContext(correlation_id=uuid7(), actor_id=None, source="housekeeping")
        done = await self.writer.run(lambda tx: sweep(tx, retention=self.retention), ctx)
        self._next = now + self.every
        if any(done.values()):
            log.info("housekeeping removed %s", ", ".join(f"{n} {kind}" for kind, n in done.items() if n))
        return sum(done.values())
