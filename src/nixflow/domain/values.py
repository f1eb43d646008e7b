"""Value types shared by tickets, events and rules."""

from __future__ import annotations

from enum import StrEnum


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        """0 for critical up to 3 for low: the order in which work is done."""
        return _PRIORITY_RANK[self]


_PRIORITY_RANK = {Priority.CRITICAL: 0, Priority.HIGH: 1, Priority.NORMAL: 2, Priority.LOW: 3}


class Role(StrEnum):
    ADMIN = "admin"
    AGENT = "agent"
    REQUESTER = "requester"
    SYSTEM = "system"


class EventStatus(StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    RETRYING = "retrying"


EVENT_CATEGORIES = (
    "ticket",
    "automation",
    "sla",
    "kb",
    "user",
    "workflow",
    "notification",
    "email",
    "webhook",
    "calendar",
    "macro",
    "organization",
    "csat",
    "mailbox",
)

# The event source of work done for an automatic mail (an auto-reply): its changes are never mailed about.
AUTO_MAIL_SOURCE = "email.auto"
