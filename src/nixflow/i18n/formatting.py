"""Dates, numbers and durations for a reader: their language (Babel's CLDR data) and their time zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_date as babel_date
from babel.dates import format_datetime as babel_datetime
from babel.dates import format_timedelta as babel_timedelta
from babel.numbers import format_decimal


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def format_datetime(value: datetime, *, locale: str, timezone: str) -> str:
    """A moment as the reader reads it: the language's medium date and time in their zone, with the zone's name."""
    zone = ZoneInfo(timezone)
    moment = _aware(value)
    shown = babel_datetime(moment, "medium", tzinfo=zone, locale=locale)
    return f"{shown} {babel_datetime(moment, 'zzz', tzinfo=zone, locale=locale)}"


def format_date(value: datetime, *, locale: str, timezone: str) -> str:
    """The reader's calendar day of a moment (in their zone)."""
    return babel_date(_aware(value).astimezone(ZoneInfo(timezone)), "medium", locale=locale)


def format_number(value: float, *, locale: str) -> str:
    """A number with the language's digit grouping and decimal sign."""
    return format_decimal(value, locale=locale)


def format_relative(delta: timedelta, *, locale: str) -> str:
    """How far away a moment is, with its direction: "in 3 hours", "2 days ago"."""
    return babel_timedelta(delta, add_direction=True, locale=locale)
