"""What keeps knowledge-base reading cheap: each reader's view or suggestion of an article version is recorded
once per window, not once per page load or keystroke, and each client may read only so fast.

Kept in memory per process (no I/O): with several API processes, a reader may be counted once per process per
window, and the rate limit is per process. Both are bounded (`CAPACITY` entries, the oldest forgotten first).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from datetime import datetime, timedelta
from typing import TypeVar

from nixflow.domain.errors import TooManyRequests

WINDOW = timedelta(minutes=30)  # one recorded view or suggestion per reader, article version and window
READS_PER_MINUTE = 120  # per client (a signed-in user, else a client address): views, searches as you type
CAPACITY = 100_000

K = TypeVar("K")
V = TypeVar("V")
Key = tuple[str, str, int, int]  # (reader, "viewed" | "suggested", article id, version)


class ReadLedger:
    """Which readings were recorded in their window, and how fast each client reads."""

    def __init__(self, *, window: timedelta = WINDOW, per_minute: int = READS_PER_MINUTE) -> None:
        self.window = window
        self.per_minute = per_minute
        self._recorded: OrderedDict[Key, datetime] = OrderedDict()
        self._rates: OrderedDict[str, tuple[datetime, int]] = OrderedDict()

    def admit(self, reader: str, now: datetime) -> None:
        """Count one read by `reader`; TooManyRequests (429, with Retry-After) past the limit for the minute."""
        started, count = self._rates.pop(reader, (now, 0))
        if now - started >= timedelta(minutes=1):
            started, count = now, 0
        self._remember(self._rates, reader, (started, count + 1))
        if count >= self.per_minute:
            wait = math.ceil((started + timedelta(minutes=1) - now).total_seconds())
            raise TooManyRequests(
                f"too many knowledge-base reads: at most {self.per_minute} a minute", retry_after=max(1, wait)
            )

    def first(self, key: Key, now: datetime) -> bool:
        """Whether this reading is the first of its window (then it is recorded from now on)."""
        since = self._recorded.get(key)
        if since is not None and now - since < self.window:
            return False
        self._recorded.pop(key, None)
        self._remember(self._recorded, key, now)
        return True

    @staticmethod
    def _remember(table: OrderedDict[K, V], key: K, value: V) -> None:
        table[key] = value
        while len(table) > CAPACITY:
            table.popitem(last=False)


def reader_key(user_id: int | None, client: str) -> str:
    """Who reads: a signed-in user by id, else the client's address (an anonymous reader has no session)."""
    return f"user:{user_id}" if user_id is not None else f"client:{client}"
