"""Your sessions: every live session and API token of a person, where and when each was last used; ending them.

Last use is recorded without a write per request: each process writes a token's use at most once a minute
(`UseLedger`, in memory), as one UPDATE of its row through the writer. With several processes a token may be
written once a minute by each; what is shown is then the latest of them, never older than a minute.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, or_, select, update

from nixflow.store.db import Tx
from nixflow.store.tables import api_tokens

USE_WINDOW = timedelta(minutes=1)  # one recorded use per token and process in this window
CAPACITY = 100_000  # tokens remembered per process, the least recently written forgotten first


@dataclass(frozen=True)
class Origin:
    """Where a request comes from: the client's address and its browser and system (`user_agents.describe`)."""

    address: str
    agent: str


class UseLedger:
    """When this process last wrote each token's use."""

    def __init__(self, *, window: timedelta = USE_WINDOW, capacity: int = CAPACITY) -> None:
        self.window = window
        self.capacity = capacity
        self._written: OrderedDict[int, datetime] = OrderedDict()

    def due(self, token_id: int, now: datetime) -> bool:
        """Whether a use of `token_id` at `now` should be written; if so it counts as written from now on."""
        last = self._written.get(token_id)
        if last is not None and now - last < self.window:
            return False
        self._written.pop(token_id, None)
        self._written[token_id] = now
        while len(self._written) > self.capacity:
            self._written.popitem(last=False)
        return True


def record_use(tx: Tx, *, token_id: int, origin: Origin) -> None:
    """Remember that `token_id` was used now, from `origin` (no event: a use changes nobody's access)."""
    tx.conn.execute(
        update(api_tokens)
        .where(api_tokens.c.id == token_id, api_tokens.c.revoked_at.is_(None))
        .values(last_used_at=tx.now, last_address=origin.address, last_agent=origin.agent)
    )


def _live(user_id: int, now: datetime) -> list[Any]:
    return [
        api_tokens.c.user_id == user_id,
        api_tokens.c.revoked_at.is_(None),
        or_(api_tokens.c.expires_at.is_(None), api_tokens.c.expires_at > now),
    ]


def listed(conn: Connection, *, user_id: int, now: datetime, current_id: int | None) -> list[dict[str, Any]]:
    """`user_id`'s live sessions and API tokens (never a secret): `current_id`, the one asking, first and marked
    `current`, then the most recently used."""
    rows = conn.execute(
        select(
            api_tokens.c.id,
            api_tokens.c.kind,
            api_tokens.c.created_at,
            api_tokens.c.created_address,
            api_tokens.c.created_agent,
            api_tokens.c.last_used_at,
            api_tokens.c.last_address,
            api_tokens.c.last_agent,
            api_tokens.c.expires_at,
        ).where(*_live(user_id, now))
    )
    found = [{**r._mapping, "current": r.id == current_id} for r in rows]
    found.sort(key=lambda s: (s["current"], s["last_used_at"] or s["created_at"], s["id"]), reverse=True)
    return found


@dataclass(frozen=True)
class Ended:
    sessions: int
    api_tokens: int


def end_credentials(tx: Tx, *, user_id: int, keep_id: int | None = None) -> Ended:
    """Revoke every session and API token of `user_id` but `keep_id`, at once; how many live ones ended."""
    keep = [api_tokens.c.id != keep_id] if keep_id is not None else []
    kinds = list(tx.conn.execute(select(api_tokens.c.kind).where(*_live(user_id, tx.now), *keep)).scalars())
    unrevoked = (api_tokens.c.user_id == user_id, api_tokens.c.revoked_at.is_(None))
    tx.conn.execute(update(api_tokens).where(*unrevoked, *keep).values(revoked_at=tx.now))
    return Ended(sessions=kinds.count("session"), api_tokens=kinds.count("api"))


def end_and_emit(tx: Tx, event: str, *, user_id: int, keep_id: int | None = None) -> Ended:
    """`end_credentials`, announced as `event` (who ended them and how many; never a token):
    `user.sessions_ended`, or `user.access_ended` for a deactivation."""
    ended = end_credentials(tx, user_id=user_id, keep_id=keep_id)
    tx.emit(
        event,
        aggregate_type="user",
        aggregate_id=user_id,
        data={
            "user_id": user_id,
            "by_id": tx.ctx.actor_id,
            "sessions_ended": ended.sessions,
            "api_tokens_revoked": ended.api_tokens,
        },
    )
    return ended
