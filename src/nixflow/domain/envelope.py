"""The event envelope: what is stored in the log and pushed to clients."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from nixflow.domain.values import EventStatus, Priority


@dataclass(frozen=True)
class EventContext:
    """Who and what caused a change; carried into every event it emits."""

    correlation_id: str
    actor_id: int | None
    source: str
    causation_id: str | None = None
    depth: int = 0
    # Set when a rule caused the change: it starts no cycle of its own, and a page can name the rule.
    rule_id: int | None = None
    rule_name: str | None = None

    def caused_by(self, event: EventRecord, *, source: str, rule_id: int | None = None) -> EventContext:
        """The context for work done in reaction to `event`."""
        return EventContext(
            correlation_id=event.correlation_id,
            causation_id=event.event_id,
            actor_id=self.actor_id,
            source=source,
            depth=event.depth + 1,
            rule_id=rule_id,
        )


@dataclass
class EventRecord:
    """One event of the log."""

    event_id: str
    type: str
    category: str
    priority: Priority
    timestamp: datetime
    aggregate_type: str
    aggregate_id: str
    data: dict[str, Any]
    metadata: dict[str, Any]
    status: EventStatus = EventStatus.PENDING
    retry_count: int = 0
    error: str | None = None
    seq: int | None = None
    duplicate_of: str | None = None
    next_attempt_at: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def correlation_id(self) -> str:
        return str(self.metadata["correlation_id"])

    @property
    def causation_id(self) -> str | None:
        value = self.metadata.get("causation_id")
        return None if value is None else str(value)

    @property
    def actor_id(self) -> int | None:
        value = self.metadata.get("actor_id")
        return None if value is None else int(value)

    @property
    def depth(self) -> int:
        return int(self.metadata.get("depth", 0))

    @property
    def rule_id(self) -> int | None:
        value = self.metadata.get("rule_id")
        return None if value is None else int(value)

    @property
    def aggregate_version(self) -> int | None:
        value = self.metadata.get("aggregate_version")
        return None if value is None else int(value)

    @property
    def dedup_key(self) -> str:
        """What identifies this emission: repeats of it share the key, two real changes never do.

        A change is identified by the aggregate version it produced (with the event's type and data); an
        event about an unversioned aggregate is its own emission only.
        """
        if self.aggregate_version is None:
            return hashlib.sha256(self.event_id.encode()).hexdigest()
        body = json.dumps(
            [self.type, self.aggregate_type, self.aggregate_id, self.aggregate_version, self.data],
            sort_keys=True,
            default=str,
        )
        return hashlib.sha256(body.encode()).hexdigest()

    def envelope(self) -> dict[str, Any]:
        """The public JSON form (`EventRead` in the OpenAPI schema; pushed as is over the WebSocket)."""
        return {
            "event_id": self.event_id,
            "seq": self.seq,
            "type": self.type,
            "category": self.category,
            "priority": self.priority.value,
            "status": self.status.value,
            "retry_count": self.retry_count,
            "timestamp": self.timestamp.isoformat().replace("+00:00", "Z"),
            "aggregate_type": self.aggregate_type,
            "aggregate_id": self.aggregate_id,
            "data": self.data,
            "metadata": self.metadata,
            "error": self.error,
            "duplicate_of": self.duplicate_of,
        }
