"""Business-hours arithmetic: properties (hypothesis) and hand-checked cases (DST, holidays, versions)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nixflow.domain import calendars as cal

WEEKDAYS_9_17 = {d: [["09:00", "17:00"]] for d in cal.WEEKDAYS[:5]}
SPLIT = {d: [["08:00", "12:00"], ["13:00", "17:30"]] for d in cal.WEEKDAYS[:5]} | {"sat": [["22:00", "24:00"]]}
NIGHT = {d: [["00:00", "03:30"], ["22:00", "24:00"]] for d in cal.WEEKDAYS}  # across DST changes
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def make(hours: dict[str, Any], zone: str = "Europe/Berlin", at: datetime = EPOCH, **extra: Any) -> cal.Version:
    return cal.version(effective_from=at, timezone=zone, hours=hours, **extra)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


CALENDARS = [
    cal.Calendar([make(WEEKDAYS_9_17, country="DE", subdivision="BY", dates=["2026-12-24"])]),
    cal.Calendar([make(SPLIT, zone="America/New_York", country="US")]),
    cal.Calendar([make(NIGHT)]),
    cal.Calendar(  # versions switching mid-span: Berlin office hours, then New York nights, then Berlin again
        [
            make(WEEKDAYS_9_17),
            make(NIGHT, zone="America/New_York", at=utc(2026, 3, 4, 12, 17)),
            make(SPLIT, at=utc(2026, 10, 20, 3)),
        ]
    ),
]
instants = st.datetimes(min_value=datetime(2025, 12, 1), max_value=datetime(2027, 1, 31), timezones=st.just(UTC))
calendars = st.sampled_from(CALENDARS)
spans = st.integers(min_value=0, max_value=6000)
few = settings(max_examples=60, deadline=None)


@few
@given(calendars, instants, spans)
def test_adding_then_measuring_gives_the_span(calendar: cal.Calendar, start: datetime, minutes: int) -> None:
    due = calendar.add(start, minutes)
    assert calendar.minutes_between(start, due) == minutes
    if minutes:  # the earliest such instant: a minute less is not enough
        assert calendar.minutes_between(start, due - timedelta(seconds=1)) < minutes


@few
@given(calendars, instants, spans, spans)
def test_due_times_never_move_backwards(calendar: cal.Calendar, start: datetime, a: int, b: int) -> None:
    low, high = sorted((a, b))
    assert calendar.add(start, low) <= calendar.add(start, high)
    later = start + timedelta(minutes=high - low)
    assert calendar.add(start, a) <= calendar.add(later, a)


@few
@given(calendars, instants, instants, instants)
def test_spans_add_up(calendar: cal.Calendar, a: datetime, b: datetime, c: datetime) -> None:
    a, b, c = sorted((a, b, c))
    assert calendar.elapsed(a, b) + calendar.elapsed(b, c) == calendar.elapsed(a, c)


@few
@given(calendars, instants)
def test_next_open_is_open(calendar: cal.Calendar, at: datetime) -> None:
    opening = calendar.next_open(at)
    assert opening >= at
    assert calendar.elapsed(at, opening) == timedelta()
    assert calendar.elapsed(opening, opening + timedelta(seconds=1)) == timedelta(seconds=1)


def test_friday_afternoon_is_due_monday_morning() -> None:
    office = cal.Calendar([make(WEEKDAYS_9_17)])
    friday = utc(2026, 11, 27, 15, 30)  # 16:30 in Berlin
    assert office.add(friday, 60) == utc(2026, 11, 30, 8, 30)  # Monday 09:30
    assert office.add(friday, 30) == utc(2026, 11, 27, 16)  # exactly at closing: stays Friday 17:00
    assert office.next_open(utc(2026, 11, 27, 15, 59)) == utc(2026, 11, 27, 15, 59)
    assert office.next_open(utc(2026, 11, 27, 16)) == utc(2026, 11, 30, 8)  # closing time is closed


def test_a_ticket_opened_on_a_holiday_starts_counting_at_the_next_open_minute() -> None:
    office = cal.Calendar([make(WEEKDAYS_9_17, country="DE", dates=["2026-12-24"])])
    christmas_eve = utc(2026, 12, 24, 10)  # custom date, then 25th and 26th (DE), then Sunday
    assert office.next_open(christmas_eve) == utc(2026, 12, 28, 8)
    assert office.add(christmas_eve, 1) == utc(2026, 12, 28, 8, 1)
    assert office.minutes_between(christmas_eve, utc(2026, 12, 28, 8)) == 0
    night = utc(2026, 11, 30, 2)  # Monday 03:00 in Berlin
    assert office.add(night, 15) == utc(2026, 11, 30, 8, 15)


def test_split_shifts() -> None:
    ny = cal.Calendar([make(SPLIT, zone="America/New_York")])
    monday_11 = utc(2026, 11, 30, 16)  # 11:00 EST
    assert ny.add(monday_11, 60) == utc(2026, 11, 30, 17)  # 12:00 the lunch break starts: stays there
    assert ny.add(monday_11, 61) == utc(2026, 11, 30, 18, 1)  # 13:01
    assert ny.minutes_between(monday_11, utc(2026, 11, 30, 23)) == 60 + 270


@pytest.mark.parametrize(
    ("zone", "day", "expected"),
    [
        ("Europe/Berlin", utc(2026, 3, 28, 12), [24 * 60, 23 * 60, 24 * 60]),  # spring forward, Sunday 29th
        ("Europe/Berlin", utc(2026, 10, 24, 12), [24 * 60, 25 * 60, 24 * 60]),  # fall back, Sunday 25th
        ("America/New_York", utc(2026, 3, 7, 17), [24 * 60, 23 * 60, 24 * 60]),
        ("America/New_York", utc(2026, 10, 31, 16), [24 * 60, 25 * 60, 24 * 60]),
    ],
)
def test_dst_days_are_as_long_as_the_wall_clock_says(zone: str, day: datetime, expected: list[int]) -> None:
    always = cal.Calendar([make({d: [["00:00", "24:00"]] for d in cal.WEEKDAYS}, zone=zone)])
    tz = cal.zone(zone)
    local_noon = day.astimezone(tz)
    lengths = []
    for i in range(3):
        midnight = (local_noon + timedelta(days=i)).date()
        start = cal.local_to_utc(datetime.combine(midnight, datetime.min.time()), tz)
        end = cal.local_to_utc(datetime.combine(midnight + timedelta(days=1), datetime.min.time()), tz)
        lengths.append(always.minutes_between(start, end))
    assert lengths == expected


def test_gap_and_fold_hours() -> None:
    two_to_three = cal.Calendar([make({d: [["02:00", "03:00"]] for d in cal.WEEKDAYS})])
    # 29 March 2026: 02:00-03:00 does not exist in Berlin; 25 October: it happens twice.
    assert two_to_three.minutes_between(utc(2026, 3, 28, 12), utc(2026, 3, 29, 12)) == 0
    assert two_to_three.minutes_between(utc(2026, 10, 24, 12), utc(2026, 10, 25, 12)) == 120
    assert two_to_three.next_open(utc(2026, 3, 28, 12)) == utc(2026, 3, 30, 0)


def test_a_later_version_changes_only_the_time_after_it() -> None:
    first = make(WEEKDAYS_9_17)
    before = cal.Calendar([first])
    edited = cal.Calendar([first, make({d: [["09:00", "12:00"]] for d in cal.WEEKDAYS}, at=utc(2026, 12, 1))])
    start, middle = utc(2026, 11, 27, 15, 30), utc(2026, 11, 30, 20)
    assert edited.minutes_between(start, middle) == before.minutes_between(start, middle) == 30 + 480
    # From 1 December (Tuesday), 09:00-12:00 every day.
    assert before.minutes_between(start, utc(2026, 12, 7)) == 30 + 5 * 480
    assert edited.minutes_between(start, utc(2026, 12, 7)) == 30 + 480 + 6 * 180
    assert edited.add(start, 30 + 480 + 180) == utc(2026, 12, 1, 11)  # 12:00 Berlin, closing time


def test_ical_events_are_closed_time() -> None:
    feed = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
        "BEGIN:VEVENT\r\nUID:1\r\nDTSTART;VALUE=DATE:20261130\r\nDTEND;VALUE=DATE:20261201\r\nSUMMARY:Off\r\nEND:VEVENT\r\n"
        "BEGIN:VEVENT\r\nUID:2\r\nDTSTART:20261201T110000Z\r\nDTEND:20261201T120000Z\r\nRRULE:FREQ=DAILY;COUNT=3\r\n"
        "SUMMARY:Meeting\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    tz = cal.zone("Europe/Berlin")
    closed = cal.closed_from_ical(feed, utc(2026, 11, 1), utc(2027, 1, 1), tz)
    assert closed[0] == (utc(2026, 11, 29, 23), utc(2026, 11, 30, 23))
    assert len(closed) == 4
    office = cal.Calendar([make(WEEKDAYS_9_17, closed=closed)])
    assert office.minutes_between(utc(2026, 11, 30), utc(2026, 12, 4)) == 3 * (480 - 60)
    with pytest.raises(cal.CalendarInvalid):
        cal.closed_from_ical("not a calendar", utc(2026, 11, 1), utc(2027, 1, 1), tz)


def test_bad_definitions_are_refused_with_every_reason() -> None:
    with pytest.raises(cal.CalendarInvalid) as caught:
        make(
            {"mon": [["17:00", "09:00"], ["9:00", "10:00"]], "tue": [["08:00", "12:00"], ["11:00", "13:00"]]},
            zone="Mars/Olympus",
            country="XX",
        )
    locs = [e["loc"] for e in caught.value.errors]
    assert locs == [["timezone"], ["hours", "mon", 0], ["hours", "mon", 1], ["hours", "tue"], ["holidays", "country"]]
    with pytest.raises(cal.CalendarInvalid):
        make(WEEKDAYS_9_17, country="DE", subdivision="XX")
    with pytest.raises(cal.CalendarInvalid):
        make({"mon": [["24:00", "24:00"]]})
    with pytest.raises(cal.CalendarInvalid):
        make({})


def test_always_open_is_wall_clock() -> None:
    start = utc(2026, 3, 29, 0, 30)
    assert cal.ALWAYS.add(start, 90) == start + timedelta(minutes=90)
    assert cal.ALWAYS.advance(start, timedelta(seconds=61)) == start + timedelta(seconds=61)
    assert cal.ALWAYS.minutes_between(start, start + timedelta(seconds=119)) == 1
