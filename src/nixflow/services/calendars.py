"""Business-hours calendars: create, read, version, delete; and which calendar counts a ticket's SLA.

A ticket counts in its priority's SLA policy calendar, else its category's, else 24/7. An edit adds a
version effective from now or later, so time already counted (and targets met or breached) never changes.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, insert, or_, select, update

from nixflow.domain import calendars as cal
from nixflow.domain.errors import Conflict, NotFound, ValidationFailed
from nixflow.store import config_cache
from nixflow.store.db import Tx, insert_returning_id
from nixflow.store.fast import Fast
from nixflow.store.tables import calendar_versions, calendars, categories, sla_policies, tickets

_V = calendar_versions.c

Retime = Callable[[Tx, int], None]  # re-times the open tickets counting in a calendar (or a category)
# Compiled calendars by their versions' content (holidays and days are computed once, not per request).
_COMPILED: dict[str, cal.Calendar] = {}
_COLUMNS = ("version", "effective_from", "timezone", "hours", "holidays", "closed")
# The span of an iCal feed's (recurring) events kept when a calendar is saved.
FEED_PAST, FEED_FUTURE = timedelta(days=366), timedelta(days=3 * 366)


def _invalid(exc: cal.CalendarInvalid) -> ValidationFailed:
    errors = [{"loc": ["body", *e["loc"]], "msg": e["msg"], "type": "value_error"} for e in exc.errors]
    return ValidationFailed(f"invalid calendar: {exc}", errors=errors)


def _domain_version(row: dict[str, Any]) -> cal.Version:
    holidays = row["holidays"] or {}
    closed = [(datetime.fromisoformat(a), datetime.fromisoformat(b)) for a, b in row.get("closed") or []]
    return cal.version(
        effective_from=row["effective_from"],
        timezone=row["timezone"],
        hours=row["hours"],
        country=holidays.get("country"),
        subdivision=holidays.get("subdivision"),
        dates=holidays.get("dates", []),
        closed=closed,
    )


def _versions(conn: Connection, calendar_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(select(calendar_versions).where(_V.calendar_id == calendar_id).order_by(_V.version))
    return [dict(r._mapping) for r in rows]


def compile_calendar(conn: Connection, calendar_id: int) -> cal.Calendar | None:
    """The arithmetic of a stored calendar (None if it does not exist)."""
    versions = _versions(conn, calendar_id)
    if not versions:
        return None
    key = json.dumps([[v[k] for k in _COLUMNS] for v in versions], sort_keys=True, default=str)
    if key not in _COMPILED:
        if len(_COMPILED) > 256:
            _COMPILED.clear()
        _COMPILED[key] = cal.Calendar([_domain_version(v) for v in versions])
    return _COMPILED[key]


_CATEGORY_CALENDARS = Fast(
    select(categories.c.id, categories.c.calendar_id).where(categories.c.calendar_id.is_not(None))
)


def category_calendars(conn: Connection) -> dict[int, int]:
    return {int(r["id"]): int(r["calendar_id"]) for r in _CATEGORY_CALENDARS.all(conn, {})}


def calendar_id_for(conn: Connection, policy_calendar_id: int | None, category_id: int | None) -> int | None:
    """The calendar a ticket counts in: its policy's, else its category's, else None (24/7)."""
    if policy_calendar_id is not None:
        return policy_calendar_id
    if category_id is None:
        return None
    return category_calendars(conn).get(category_id)


def hours_for(tx: Tx, policy_calendar_id: int | None, category_id: int | None) -> cal.BusinessClock:
    """The business hours a ticket's SLA counts in (from the process's cache of configuration)."""
    if policy_calendar_id is None and category_id is None:
        return cal.ALWAYS
    if policy_calendar_id is None:
        found = config_cache.cached(tx, "category_calendars", ("categories",), category_calendars).get(category_id or 0)
    else:
        found = policy_calendar_id
    if found is None:
        return cal.ALWAYS
    read = functools.partial(compile_calendar, calendar_id=found)
    compiled = config_cache.cached(tx, ("calendar", found), ("calendars", "calendar_versions"), read)
    return compiled if compiled is not None else cal.ALWAYS


# -- reading and writing -----------------------------------------------------------------------------


def names(conn: Connection) -> dict[int, str]:
    """Every calendar's name, by id (for the admin pages' choices)."""
    return {r.id: r.name for r in conn.execute(select(calendars.c.id, calendars.c.name).order_by(calendars.c.id))}


def _public(version: dict[str, Any]) -> dict[str, Any]:
    holidays = version["holidays"] or {}
    return {
        "version": version["version"],
        "effective_from": version["effective_from"],
        "timezone": version["timezone"],
        "hours": version["hours"],
        "holidays": {
            "country": holidays.get("country"),
            "subdivision": holidays.get("subdivision"),
            "dates": holidays.get("dates", []),
        },
        "ical_url": version.get("ical_url"),
        "closed_periods": len(version.get("closed") or []),
    }


def _current(versions: list[dict[str, Any]], now: datetime) -> dict[str, Any]:
    """The version in effect at `now` (the first one if all start later)."""
    in_effect = [v for v in versions if v["effective_from"] <= now]
    return max(in_effect, key=lambda v: (v["effective_from"], v["version"])) if in_effect else versions[0]


def _calendar_dict(conn: Connection, row: Any, now: datetime) -> dict[str, Any]:
    versions = _versions(conn, row.id)
    current = _public(_current(versions, now))
    return {
        "id": row.id,
        "name": row.name,
        **{k: v for k, v in current.items() if k != "version"},
        "version": current["version"],
        "created_at": row.created_at,
        "updated_at": row.updated_at,
        "versions": [_public(v) for v in versions],
    }


def get_calendar(conn: Connection, *, calendar_id: int, now: datetime) -> dict[str, Any]:
    """One calendar: its version in effect now, and every version."""
    row = conn.execute(select(calendars).where(calendars.c.id == calendar_id)).first()
    if row is None:
        raise NotFound(f"calendar {calendar_id} not found")
    return _calendar_dict(conn, row, now)


def list_calendars(conn: Connection, *, now: datetime) -> list[dict[str, Any]]:
    """Every calendar, by id."""
    return [_calendar_dict(conn, r, now) for r in conn.execute(select(calendars).order_by(calendars.c.id))]


def _stored(body: dict[str, Any], effective_from: datetime, now: datetime) -> dict[str, Any]:
    """The version columns of an API body, checked (a 422 lists every problem); `body["ical"]` is the text of
    the feed at `ical_url`, fetched by the caller, whose events become closed periods."""
    holidays = body.get("holidays") or {}
    hours = {day: [list(r) for r in ranges] for day, ranges in (body.get("hours") or {}).items()}
    row = {
        "effective_from": effective_from,
        "timezone": body["timezone"],
        "hours": hours,
        "holidays": {
            "country": holidays.get("country"),
            "subdivision": holidays.get("subdivision"),
            "dates": sorted(set(holidays.get("dates") or [])),
        },
        "ical_url": body.get("ical_url"),
        "closed": None,
    }
    try:
        _domain_version(row)
        if body.get("ical") is not None:
            tz = cal.zone(body["timezone"])
            found = cal.closed_from_ical(body["ical"], now - FEED_PAST, now + FEED_FUTURE, tz)
            row["closed"] = [[a.isoformat(), b.isoformat()] for a, b in found]
    except cal.CalendarInvalid as exc:
        raise _invalid(exc) from None
    return row


def _check_name(tx: Tx, name: str, calendar_id: int | None) -> None:
    query = select(calendars.c.id).where(calendars.c.name == name)
    if calendar_id is not None:
        query = query.where(calendars.c.id != calendar_id)
    if tx.conn.execute(query).first():
        raise Conflict(f"a calendar named '{name}' exists already")


def create_calendar(tx: Tx, *, body: dict[str, Any]) -> dict[str, Any]:
    """A new calendar with its first version (which also counts the time before it); `calendar.created`."""
    effective_from = body.get("effective_from") or tx.now
    row = _stored(body, effective_from, tx.now)
    _check_name(tx, body["name"], None)
    calendar_id = insert_returning_id(
        tx.conn, insert(calendars).values(name=body["name"], created_at=tx.now, updated_at=tx.now)
    )
    tx.conn.execute(insert(calendar_versions).values(calendar_id=calendar_id, version=1, created_at=tx.now, **row))
    created = get_calendar(tx.conn, calendar_id=calendar_id, now=tx.now)
    tx.emit("calendar.created", aggregate_type="calendar", aggregate_id=calendar_id, data=_event(created, 1))
    return created


def update_calendar(tx: Tx, *, calendar_id: int, body: dict[str, Any], retime: Retime) -> dict[str, Any]:
    """A new version effective at `effective_from` (default now; never in the past, nor before the latest
    version); open tickets counting in it get new due times for their running targets (`retime`:
    `sla_policies.retime_calendar`, which sits above this module)."""
    before = get_calendar(tx.conn, calendar_id=calendar_id, now=tx.now)
    effective_from = body.get("effective_from") or tx.now
    latest = max(v["effective_from"] for v in before["versions"])
    if effective_from < tx.now or effective_from < latest:
        floor = max(tx.now, latest)
        msg = f"effective_from must be now or later, and not before the latest version's ({floor.isoformat()})"
        raise ValidationFailed(msg, errors=[{"loc": ["body", "effective_from"], "msg": msg, "type": "value_error"}])
    row = _stored(body, effective_from, tx.now)
    _check_name(tx, body["name"], calendar_id)
    number = max(v["version"] for v in before["versions"]) + 1
    tx.conn.execute(insert(calendar_versions).values(calendar_id=calendar_id, version=number, created_at=tx.now, **row))
    tx.conn.execute(update(calendars).where(calendars.c.id == calendar_id).values(name=body["name"], updated_at=tx.now))
    after = get_calendar(tx.conn, calendar_id=calendar_id, now=tx.now)
    tx.emit("calendar.updated", aggregate_type="calendar", aggregate_id=calendar_id, data=_event(after, number))
    tx.memo.clear()
    retime(tx, calendar_id)
    return after


def calendar_users(conn: Connection, calendar_id: int) -> Any:
    """A condition on `tickets`: the tickets that may count in this calendar."""
    priorities = select(sla_policies.c.priority).where(sla_policies.c.calendar_id == calendar_id)
    in_categories = select(categories.c.id).where(categories.c.calendar_id == calendar_id)
    return or_(tickets.c.priority.in_(priorities), tickets.c.category_id.in_(in_categories))


def delete_calendar(tx: Tx, *, calendar_id: int) -> None:
    """Delete a calendar no SLA policy or category uses (409 otherwise); `calendar.deleted`."""
    found = get_calendar(tx.conn, calendar_id=calendar_id, now=tx.now)
    users = [
        f"SLA policy '{r[0]}'"
        for r in tx.conn.execute(select(sla_policies.c.priority).where(sla_policies.c.calendar_id == calendar_id))
    ] + [
        f"category '{r[0]}'"
        for r in tx.conn.execute(select(categories.c.name).where(categories.c.calendar_id == calendar_id))
    ]
    if users:
        raise Conflict(f"calendar {calendar_id} is in use by {', '.join(users)}")
    tx.conn.execute(delete(calendar_versions).where(_V.calendar_id == calendar_id))
    tx.conn.execute(delete(calendars).where(calendars.c.id == calendar_id))
    tx.emit(
        "calendar.deleted",
        aggregate_type="calendar",
        aggregate_id=calendar_id,
        data={"calendar_id": calendar_id, "name": found["name"]},
    )


def check_exists(conn: Connection, calendar_id: int | None) -> None:
    """NotFound if `calendar_id` names no calendar (as an unknown category id in a body is)."""
    if calendar_id is None:
        return
    if conn.execute(select(calendars.c.id).where(calendars.c.id == calendar_id)).first() is None:
        raise NotFound(f"unknown calendar id {calendar_id}")


def _event(found: dict[str, Any], number: int) -> dict[str, Any]:
    version = next(v for v in found["versions"] if v["version"] == number)
    return {"calendar_id": found["id"], "name": found["name"], **version}
