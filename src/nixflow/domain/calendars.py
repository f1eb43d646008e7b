"""Business-hours calendars: open time per weekday in a time zone, holidays, closed periods, versions.

Pure arithmetic, no I/O: holidays come from the `holidays` package (computed, not fetched) and an iCal
feed arrives here as closed intervals already expanded (see `closed_from_ical`). Every instant is counted
with the version in effect at that instant; the first version also covers the time before it.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import holidays as holiday_data
import icalendar
import recurring_ical_events

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY = 1440  # minutes
HORIZON = timedelta(days=366 * 20)  # a calendar never open within this span counts as never open
_HHMM = re.compile(r"^(?:([01]\d|2[0-3]):([0-5]\d)|(24):(00))$")

Range = tuple[int, int]  # minutes since local midnight, [start, end), end may be 1440
Week = tuple[tuple[Range, ...], ...]  # 7 entries, Monday first
Interval = tuple[datetime, datetime]  # UTC, [start, end)


class CalendarInvalid(ValueError):
    """A calendar definition that cannot be used; `errors` are `{loc, msg}` for the API."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors))
        self.errors = errors


class BusinessClock(Protocol):
    """What SLA and reports need from a calendar (24/7 or business hours)."""

    def advance(self, start: datetime, span: timedelta) -> datetime: ...

    def elapsed(self, start: datetime, stop: datetime) -> timedelta: ...


class AlwaysOpen:
    """The default: 24/7, plain wall-clock arithmetic."""

    def advance(self, start: datetime, span: timedelta) -> datetime:
        return start + span

    def elapsed(self, start: datetime, stop: datetime) -> timedelta:
        return stop - start

    def add(self, start: datetime, minutes: int) -> datetime:
        return start + timedelta(minutes=minutes)

    def minutes_between(self, start: datetime, stop: datetime) -> int:
        return max(0, int((stop - start).total_seconds() // 60))

    def next_open(self, at: datetime) -> datetime:
        return at


ALWAYS = AlwaysOpen()


# -- definitions -----------------------------------------------------------------------------------------


def zone(name: str) -> ZoneInfo:
    """An IANA time zone; CalendarInvalid if unknown."""
    if name not in _zones():
        raise CalendarInvalid([{"loc": ["timezone"], "msg": f"unknown time zone '{name}'"}])
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:  # pragma: no cover - listed but unreadable
        raise CalendarInvalid([{"loc": ["timezone"], "msg": f"unknown time zone '{name}'"}]) from exc


def _zones() -> set[str]:
    global _ZONES
    if _ZONES is None:
        _ZONES = available_timezones()
    return _ZONES


_ZONES: set[str] | None = None


def _minute(text: str) -> int | None:
    m = _HHMM.match(text)
    if m is None:
        return None
    hours, minutes = (m.group(1), m.group(2)) if m.group(1) is not None else (m.group(3), m.group(4))
    return int(hours) * 60 + int(minutes)


def parse_week(hours: Mapping[str, Sequence[Sequence[str]]]) -> Week:
    """`{"mon": [["09:00", "17:00"], ...], ...}` as minute ranges; a missing day is closed.

    CalendarInvalid for an unknown day, a time that is not "HH:MM" (00:00-24:00), an empty or reversed
    range, or overlapping ranges; at least one range is needed somewhere in the week."""
    errors: list[dict[str, Any]] = []
    for key in hours:
        if key not in WEEKDAYS:
            errors.append({"loc": ["hours", key], "msg": f"unknown day '{key}' (use {', '.join(WEEKDAYS)})"})
    week: list[tuple[Range, ...]] = []
    for day in WEEKDAYS:
        ranges: list[Range] = []
        for i, pair in enumerate(hours.get(day, [])):
            loc = ["hours", day, i]
            if len(pair) != 2:
                errors.append({"loc": loc, "msg": "a range is [start, end]"})
                continue
            start, end = _minute(pair[0]), _minute(pair[1])
            if start is None or end is None or start == DAY:
                errors.append({"loc": loc, "msg": f'times are "HH:MM" from 00:00 to 24:00, got {list(pair)}'})
                continue
            if end <= start:
                errors.append({"loc": loc, "msg": f"the range ends before it starts: {list(pair)}"})
                continue
            ranges.append((start, end))
        ranges.sort()
        for before, after in itertools.pairwise(ranges):
            if after[0] < before[1]:
                errors.append({"loc": ["hours", day], "msg": "ranges overlap"})
        week.append(tuple(ranges))
    if not errors and not any(week):
        errors.append({"loc": ["hours"], "msg": "the calendar is never open: give at least one range"})
    if errors:
        raise CalendarInvalid(errors)
    return tuple(week)


def holiday_set(country: str | None, subdivision: str | None) -> Any:
    """The `holidays` package's holidays of a country (and subdivision); None without a country."""
    if country is None:
        if subdivision is not None:
            raise CalendarInvalid([{"loc": ["holidays", "subdivision"], "msg": "a subdivision needs a country"}])
        return None
    supported = holiday_data.list_supported_countries()
    if country not in supported:
        raise CalendarInvalid([{"loc": ["holidays", "country"], "msg": f"unknown holiday country '{country}'"}])
    if subdivision is not None and subdivision not in supported[country]:
        raise CalendarInvalid(
            [{"loc": ["holidays", "subdivision"], "msg": f"unknown subdivision '{subdivision}' of '{country}'"}]
        )
    return holiday_data.country_holidays(country, subdiv=subdivision)


def closed_from_ical(text: str | bytes, since: datetime, until: datetime, tz: ZoneInfo) -> list[Interval]:
    """The events of an iCal feed between two instants, as closed UTC intervals (all-day events close
    whole local days in `tz`). CalendarInvalid if the feed cannot be read."""
    try:
        feed = icalendar.Calendar.from_ical(text)
        events = recurring_ical_events.of(feed).between(since, until)
    except Exception as exc:  # the parsers raise many kinds of errors on bad input
        raise CalendarInvalid([{"loc": ["ical_url"], "msg": f"not a readable iCal feed: {exc}"}]) from exc
    out: list[Interval] = []
    for event in events:
        start, end = event.get("DTSTART"), event.get("DTEND")
        if start is None:
            continue
        begin, finish = _instant(start.dt, tz), _instant(end.dt if end is not None else start.dt, tz)
        if not isinstance(start.dt, datetime) and finish <= begin:
            finish = _instant(start.dt + timedelta(days=1), tz)
        if finish > begin:
            out.append((begin, finish))
    return merge(out)


def _instant(value: date | datetime, tz: ZoneInfo) -> datetime:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=tz)).astimezone(UTC)
    return local_to_utc(datetime.combine(value, time()), tz)


def merge(intervals: Sequence[Interval]) -> list[Interval]:
    """Sorted, overlapping or touching intervals joined."""
    out: list[Interval] = []
    for start, end in sorted(intervals):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def local_to_utc(naive: datetime, tz: ZoneInfo) -> datetime:
    """The first instant whose wall-clock time in `tz` is `naive` or later: the first occurrence of a
    repeated time (fold), the end of the jump for a time that does not exist (gap)."""
    first = naive.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if first.astimezone(tz).replace(tzinfo=None) == naive:
        return first
    other = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
    low, high = min(first, other), max(first, other)  # local(low) < naive <= local(high)
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(tz).replace(tzinfo=None) >= naive:
            high = middle
        else:
            low = middle
    return high.replace(microsecond=0)


# -- versions and arithmetic ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Version:
    """One version of a calendar, in effect from `effective_from` until the next version."""

    effective_from: datetime
    tz: ZoneInfo
    week: Week
    dates: frozenset[date] = frozenset()
    holidays: Any = None  # a `holidays.HolidayBase`, or None
    closed: tuple[Interval, ...] = ()  # UTC, merged
    _days: dict[date, list[Interval]] = field(default_factory=dict, compare=False, repr=False)

    def open_on(self, day: date) -> list[Interval]:
        """The open intervals (UTC) of a local day."""
        found = self._days.get(day)
        if found is None:
            found = self._compute(day)
            if len(self._days) > 20000:
                self._days.clear()
            self._days[day] = found
        return found

    def _compute(self, day: date) -> list[Interval]:
        if day in self.dates or (self.holidays is not None and day in self.holidays):
            return []
        midnight = datetime.combine(day, time())
        out = []
        for start, end in self.week[day.weekday()]:
            begin = local_to_utc(midnight + timedelta(minutes=start), self.tz)
            finish = local_to_utc(midnight + timedelta(minutes=end), self.tz)
            if finish > begin:
                out.extend(_subtract((begin, finish), self.closed))
        return out


def _subtract(interval: Interval, closed: Sequence[Interval]) -> list[Interval]:
    out, (start, end) = [], interval
    for c_start, c_end in closed:
        if c_end <= start or c_start >= end:
            continue
        if c_start > start:
            out.append((start, c_start))
        start = max(start, c_end)
        if start >= end:
            return out
    out.append((start, end))
    return out


class Calendar:
    """Business hours over time: versions by `effective_from` (on a tie, the later one in the list wins)."""

    def __init__(self, versions: Sequence[Version]) -> None:
        if not versions:
            raise ValueError("a calendar has at least one version")
        by_start: dict[datetime, Version] = {}
        for version in versions:
            by_start[version.effective_from] = version
        self.versions = [by_start[k] for k in sorted(by_start)]

    def _segments(self, start: datetime) -> Iterator[tuple[Version, datetime | None, datetime | None]]:
        """(version, from, until) of the versions in effect at `start` and later; the first has no `from`."""
        starts = [v.effective_from for v in self.versions]
        index = max((i for i, s in enumerate(starts) if s <= start), default=0)
        for i in range(index, len(self.versions)):
            yield self.versions[i], (starts[i] if i else None), (starts[i + 1] if i + 1 < len(starts) else None)

    def intervals(self, start: datetime, until: datetime | None = None) -> Iterator[Interval]:
        """The open intervals after `start` (clipped to it), in order, up to `until` (default: the horizon)."""
        stop = until if until is not None else start + HORIZON
        for version, begin, end in self._segments(start):
            if begin is not None and begin >= stop:
                return
            first = max(start, begin) if begin is not None else start
            day = first.astimezone(version.tz).date() - timedelta(days=1)
            while True:
                local_midnight = local_to_utc(datetime.combine(day, time()), version.tz)
                if local_midnight >= stop or (end is not None and local_midnight >= end):
                    break
                for a, b in version.open_on(day):
                    a, b = max(a, first), min(b, end) if end is not None else b
                    b = min(b, stop)
                    if b > a:
                        yield a, b
                day += timedelta(days=1)

    def advance(self, start: datetime, span: timedelta) -> datetime:
        """The earliest instant by which `span` of business time has passed since `start`; a span that ends
        exactly at a closing time ends there. Never open within the horizon: the horizon's end."""
        if span <= timedelta():
            return start
        left = span
        for a, b in self.intervals(start):
            if left <= b - a:
                return a + left
            left -= b - a
        return start + HORIZON

    def elapsed(self, start: datetime, stop: datetime) -> timedelta:
        """Business time between two instants (zero if `stop` is not after `start`)."""
        total = timedelta()
        if stop <= start:
            return total
        for a, b in self.intervals(start, stop):
            total += b - a
        return total

    def add(self, start: datetime, minutes: int) -> datetime:
        """`start` plus whole business minutes."""
        return self.advance(start, timedelta(minutes=minutes))

    def minutes_between(self, start: datetime, stop: datetime) -> int:
        """Whole business minutes between two instants."""
        return int(self.elapsed(start, stop).total_seconds() // 60)

    def next_open(self, at: datetime) -> datetime:
        """`at` if the calendar is open then, else the next opening."""
        for a, _ in self.intervals(at):
            return a
        return at + HORIZON


def version(
    *,
    effective_from: datetime,
    timezone: str,
    hours: Mapping[str, Sequence[Sequence[str]]],
    country: str | None = None,
    subdivision: str | None = None,
    dates: Sequence[str | date] = (),
    closed: Sequence[Interval] = (),
) -> Version:
    """A version from its stored/API form; CalendarInvalid lists every problem."""
    errors: list[dict[str, Any]] = []
    parsed: dict[str, Any] = {}
    for key, build in (
        ("tz", lambda: zone(timezone)),
        ("week", lambda: parse_week(hours)),
        ("holidays", lambda: holiday_set(country, subdivision)),
        ("dates", lambda: _dates(dates)),
    ):
        try:
            parsed[key] = build()
        except CalendarInvalid as exc:
            errors.extend(exc.errors)
    if errors:
        raise CalendarInvalid(errors)
    return Version(
        effective_from, parsed["tz"], parsed["week"], parsed["dates"], parsed["holidays"], tuple(merge(closed))
    )


def _dates(values: Sequence[str | date]) -> frozenset[date]:
    out, errors = set(), []
    for i, value in enumerate(values):
        if isinstance(value, date):
            out.add(value)
            continue
        try:
            out.add(date.fromisoformat(value))
        except ValueError:
            errors.append({"loc": ["holidays", "dates", i], "msg": f"not a date (YYYY-MM-DD): '{value}'"})
    if errors:
        raise CalendarInvalid(errors)
    return frozenset(out)
