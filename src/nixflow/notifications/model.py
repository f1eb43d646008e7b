"""What a notification is, and what a user wants to be told: plain values, no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from nixflow.notifications.titles import Title

KINDS = ("assigned", "comments", "status", "approvals", "sla", "rules")
CHANNELS = ("email", "in_app")
DIGESTS = ("off", "hourly", "daily")
DIGEST_PERIOD = {"hourly": timedelta(hours=1), "daily": timedelta(days=1)}


@dataclass(frozen=True)
class Preferences:
    """Per kind and channel on/off, and whether mail comes one at a time or as a digest."""

    email: Mapping[str, bool] = field(default_factory=lambda: dict.fromkeys(KINDS, True))
    in_app: Mapping[str, bool] = field(default_factory=lambda: dict.fromkeys(KINDS, True))
    digest: str = "off"

    def wants(self, channel: str, kind: str) -> bool:
        """Whether this user wants `kind` notifications on `channel` (unknown kinds: yes)."""
        chosen = self.email if channel == "email" else self.in_app
        return bool(chosen.get(kind, True))

    def public(self) -> dict[str, Any]:
        """The API form (issue 11, "Contract")."""
        return {
            "email": {k: self.wants("email", k) for k in KINDS},
            "in_app": {k: self.wants("in_app", k) for k in KINDS},
            "digest": self.digest,
        }


@dataclass(frozen=True)
class Draft:
    """A notification the consumer is about to make for one recipient."""

    recipient_id: int
    kind: str
    reason: str
    title: Title
    body: str
    change: dict[str, Any] | None = None


def backoff_seconds(base: float, attempts: int, cap: float) -> float:
    """Exponential backoff after `attempts` failures, never more than `cap`."""
    return float(min(cap, base * 2 ** min(max(attempts - 1, 0), 30)))
