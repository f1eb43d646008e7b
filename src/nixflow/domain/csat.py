"""Satisfaction surveys and time entries: what an answer and an entry may be, and how long a survey stays open.
Pure, no I/O.

A survey is one question (good or bad, and an optional comment) asked of a ticket's requester when it is
resolved. The link in the mail works for `LINK_DAYS` after the resolution; the first answer may be changed for
`CHANGE_DAYS`, then it stands (a clear refusal, 409).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from nixflow.domain.errors import Conflict, DomainError

Rating = Literal["good", "bad"]
RATINGS: tuple[Rating, ...] = ("good", "bad")
LINK_DAYS = 30
CHANGE_DAYS = 7
MAX_COMMENT = 2000
# Statuses in which a ticket's requester may answer its survey.
SURVEYED_STATUSES = ("resolved", "closed")
MAX_MINUTES = 24 * 60  # one entry: at most a day
MAX_NOTE = 500


class InvalidSurveyLink(DomainError):
    """A survey link that is malformed, tampered with, or expired: nothing changes."""

    title = "Survey link not valid"


def link_expiry(resolved_at: datetime) -> datetime:
    """When the survey link mailed on a resolution at `resolved_at` stops working."""
    return resolved_at + timedelta(days=LINK_DAYS)


def changeable_until(answered_at: datetime) -> datetime:
    """Until when the answer first given at `answered_at` may be changed."""
    return answered_at + timedelta(days=CHANGE_DAYS)


def check_change(answered_at: datetime | None, now: datetime) -> None:
    """Conflict (409) when an earlier answer exists and its change window has closed."""
    if answered_at is not None and now > changeable_until(answered_at):
        raise Conflict(
            f"this survey was answered on {answered_at:%Y-%m-%d}; an answer can be changed for {CHANGE_DAYS} days "
            "only, so it stands as given"
        )


def score(good: int, bad: int) -> float | None:
    """The CSAT score: the share of good answers, in percent to one decimal (None without answers)."""
    total = good + bad
    return None if total == 0 else round(100 * good / total, 1)
