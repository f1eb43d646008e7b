"""Recently seen valid credentials, so that most requests authenticate without reading the database.

Emptied by every event that can end or change a credential: at commit for this process's own changes
(before the request that made them is answered, so a logout or revocation works at once), and through
the log tailer for every other process's (within its poll interval). Entries also expire on their own
after a few seconds, and never outlive the credential's own expiry.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from datetime import datetime

from nixflow.domain.envelope import EventRecord
from nixflow.services.auth import Authenticated

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


class CredentialCache:
    """Token -> the credential it proved, for at most `ttl_seconds`."""

    def __init__(self, *, ttl_seconds: float = 5.0, max_entries: int = 10_000) -> None:
        self.ttl = ttl_seconds
        self.max_entries = max_entries
        self._entries: dict[str, tuple[Authenticated, float]] = {}
        self._generation = 0
        self._lock = threading.Lock()

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
        if any(r.category == "user" and r.type not in _HARMLESS for r in records):
            with self._lock:
                self._generation += 1
                self._entries = {}
