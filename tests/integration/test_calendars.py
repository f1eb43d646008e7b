"""Business-hours calendars: the API, and SLA due times, warnings, breaches and pauses in business minutes."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from tests.conftest import Harness, ManualClock, User, start

from nixflow.config import Settings

OFFICE = {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def _when(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def _calendar(harness: Harness, admin: User, **body: Any) -> dict[str, Any]:
    payload = {"name": "Berlin office", "timezone": "Europe/Berlin", "hours": OFFICE, **body}
    response = await harness.client.post("/api/calendars", json=payload, headers=admin.headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def _policy(harness: Harness, admin: User, calendar_id: int | None, first: int = 60, res: int = 480) -> None:
    body = {"first_response_minutes": first, "resolution_minutes": res, "warning_percent": 80}
    response = await harness.client.put(
        "/api/sla/policies/normal", json={**body, "calendar_id": calendar_id}, headers=admin.headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["calendar_id"] == calendar_id


async def _open(harness: Harness, user: User, **extra: Any) -> dict[str, Any]:
    body = {"title": "Printer on fire", "description": "details", **extra}
    response = await harness.client.post("/api/tickets", json=body, headers=user.headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def _tick(harness: Harness, clock: ManualClock, at: datetime) -> None:
    clock.now = at
    await harness.nixflow.scheduler.run_due(now=at)
    await harness.settle()


async def _alarms(harness: Harness, ticket_id: int) -> list[tuple[str, str]]:
    events = await harness.events(aggregate_id=str(ticket_id))
    return [(e["type"], e["data"]["target"]) for e in events if e["type"] in ("sla.warning", "sla.breached")]


async def _sla(harness: Harness, user: User, ticket_id: int) -> dict[str, Any]:
    response = await harness.client.get(f"/api/tickets/{ticket_id}", headers=user.headers)
    return dict(response.json()["sla"])


async def test_calendar_api_validates_versions_and_guards_deletion(harness: Harness) -> None:
    admin, agent, requester = await harness.user("admin"), await harness.user("agent"), await harness.user("requester")
    created = await _calendar(harness, admin, holidays={"country": "DE", "subdivision": "BY", "dates": ["2030-12-24"]})
    assert created["version"] == 1 and len(created["versions"]) == 1
    assert created["hours"]["mon"] == [["09:00", "17:00"]] and created["hours"]["sat"] == []
    assert created["holidays"] == {"country": "DE", "subdivision": "BY", "dates": ["2030-12-24"]}
    url = f"/api/calendars/{created['id']}"

    assert (await harness.client.get(url, headers=agent.headers)).status_code == 200
    assert (await harness.client.get("/api/calendars", headers=requester.headers)).status_code == 403
    assert (await harness.client.post("/api/calendars", json={}, headers=agent.headers)).status_code == 403

    bad_bodies = [
        ({"timezone": "Mars/Olympus"}, ["body", "timezone"]),
        ({"hours": {"mon": [["17:00", "09:00"]]}}, ["body", "hours", "mon", 0]),
        ({"hours": {"mon": [["09:00", "12:00"], ["11:00", "13:00"]]}}, ["body", "hours", "mon"]),
        ({"hours": {"mon": [["9:00", "12:00"]]}}, None),
        ({"holidays": {"country": "XX"}}, ["body", "holidays", "country"]),
        ({"holidays": {"country": "DE", "subdivision": "ZZ"}}, ["body", "holidays", "subdivision"]),
        ({"effective_from": "2020-01-01T00:00:00Z"}, ["body", "effective_from"]),
    ]
    before = (await harness.client.get(url, headers=admin.headers)).json()
    for change, loc in bad_bodies:
        body = {"name": "Berlin office", "timezone": "Europe/Berlin", "hours": OFFICE, **change}
        response = await harness.client.put(url, json=body, headers=admin.headers)
        assert response.status_code == 422, (change, response.text)
        if loc is not None:
            assert loc in [e["loc"] for e in response.json()["errors"]], response.text
    assert (await harness.client.get(url, headers=admin.headers)).json() == before
    assert len((await harness.client.get("/api/calendars", headers=admin.headers)).json()) == 1

    later = harness.nixflow.clock() + timedelta(days=2)
    body = {"name": "Berlin office", "timezone": "Europe/Berlin", "hours": {"mon": [["10:00", "12:00"]]}}
    edited = await harness.client.put(url, json={**body, "effective_from": later.isoformat()}, headers=admin.headers)
    assert edited.status_code == 200, edited.text
    shown = edited.json()
    assert shown["version"] == 1 and [v["version"] for v in shown["versions"]] == [1, 2]  # v2 is not in effect yet
    assert _when(shown["versions"][1]["effective_from"]) == later

    await _policy(harness, admin, created["id"])
    refused = await harness.client.delete(url, headers=admin.headers)
    assert refused.status_code == 409 and "normal" in refused.text
    await _policy(harness, admin, None)
    assert (await harness.client.delete(url, headers=admin.headers)).status_code == 204
    assert (await harness.client.get(url, headers=admin.headers)).status_code == 404
    unknown = await harness.client.put(
        "/api/sla/policies/normal",
        json={"first_response_minutes": 1, "resolution_minutes": 2, "warning_percent": 80, "calendar_id": 999},
        headers=admin.headers,
    )
    assert unknown.status_code == 404
    types = [e["type"] for e in await harness.events(aggregate_type="calendar")]
    assert types == ["calendar.created", "calendar.updated", "calendar.deleted"]


async def test_friday_afternoon_ticket_is_due_monday_morning(timed_harness: Harness, clock: ManualClock) -> None:
    harness = timed_harness
    admin, requester = await harness.user("admin"), await harness.user("requester")
    clock.now = utc(2030, 1, 11, 15, 30)  # Friday 16:30 in Berlin
    office = await _calendar(harness, admin)
    await _policy(harness, admin, office["id"])
    ticket = await _open(harness, requester)
    assert _when(ticket["sla"]["first_response_due"]) == utc(2030, 1, 14, 8, 30)  # Monday 09:30
    assert _when(ticket["sla"]["resolution_due"]) == utc(2030, 1, 14, 15, 30)  # 30 min Friday, 450 Monday
    await harness.settle()

    await _tick(harness, clock, utc(2030, 1, 12, 12))  # Saturday: nothing counts
    await _tick(harness, clock, utc(2030, 1, 14, 8, 17))  # warning at 48 business minutes: Monday 09:18
    assert await _alarms(harness, ticket["id"]) == []
    await _tick(harness, clock, utc(2030, 1, 14, 8, 18))
    assert await _alarms(harness, ticket["id"]) == [("sla.warning", "first_response")]
    await _tick(harness, clock, utc(2030, 1, 14, 8, 29))
    await _tick(harness, clock, utc(2030, 1, 14, 8, 30))
    assert await _alarms(harness, ticket["id"]) == [
        ("sla.warning", "first_response"),
        ("sla.breached", "first_response"),
    ]


async def test_holidays_do_not_count(timed_harness: Harness, clock: ManualClock) -> None:
    harness = timed_harness
    admin, requester = await harness.user("admin"), await harness.user("requester")
    clock.now = utc(2030, 4, 18, 14, 30)  # Thursday 16:30 in Berlin, before Easter
    office = await _calendar(harness, admin, holidays={"country": "DE", "dates": ["2030-04-23"]})
    await _policy(harness, admin, office["id"])
    ticket = await _open(harness, requester)
    # Good Friday, the weekend, Easter Monday (DE) and Tuesday (a custom date) are closed.
    assert _when(ticket["sla"]["first_response_due"]) == utc(2030, 4, 24, 7, 30)  # Wednesday 09:30 (CEST)


async def test_pending_pauses_count_business_minutes(timed_harness: Harness, clock: ManualClock) -> None:
    harness = timed_harness
    admin, agent, requester = await harness.user("admin"), await harness.user("agent"), await harness.user("requester")
    clock.now = utc(2030, 1, 14, 8)  # Monday 09:00 in Berlin
    office = await _calendar(harness, admin)
    await _policy(harness, admin, office["id"])
    ticket = await _open(harness, requester)
    assert _when(ticket["sla"]["resolution_due"]) == utc(2030, 1, 14, 16)  # Monday 17:00: at closing time
    for at, status in (
        (utc(2030, 1, 14, 14), "open"),
        (utc(2030, 1, 14, 15), "pending"),
        (utc(2030, 1, 15, 9), "open"),
    ):
        clock.now = at
        response = await harness.client.post(
            f"/api/tickets/{ticket['id']}/transition", json={"status": status}, headers=agent.headers
        )
        assert response.status_code == 200, response.text
    # Pending from Monday 16:00 to Tuesday 10:00 (Berlin): 60 + 60 business minutes, not 18 hours.
    assert _when((await _sla(harness, agent, ticket["id"]))["resolution_due"]) == utc(2030, 1, 15, 10)


async def test_a_calendar_edit_changes_only_the_future(timed_harness: Harness, clock: ManualClock) -> None:
    harness = timed_harness
    admin, requester = await harness.user("admin"), await harness.user("requester")
    clock.now = utc(2030, 1, 14, 8)  # Monday 09:00 in Berlin
    office = await _calendar(harness, admin)
    await _policy(harness, admin, office["id"])
    ticket = await _open(harness, requester)
    await harness.settle()
    await _tick(harness, clock, utc(2030, 1, 14, 9, 1))  # first response breached at 10:00
    assert ("sla.breached", "first_response") in await _alarms(harness, ticket["id"])

    clock.now = utc(2030, 1, 14, 10)  # Monday 11:00: from 12:00 on, a lunch break from 12:00 to 13:00
    split = {d: [["09:00", "12:00"], ["13:00", "17:00"]] for d in OFFICE}
    body = {"name": "Berlin office", "timezone": "Europe/Berlin", "hours": split, "effective_from": "2030-01-14T11:00Z"}
    response = await harness.client.put(f"/api/calendars/{office['id']}", json=body, headers=admin.headers)
    assert response.status_code == 200, response.text
    await harness.settle()
    shown = await _sla(harness, admin, ticket["id"])
    assert _when(shown["first_response_due"]) == utc(2030, 1, 14, 9)  # breached: stays
    # 09:00-12:00 (180) and 13:00-17:00 (240) on Monday, then 60 on Tuesday.
    assert _when(shown["resolution_due"]) == utc(2030, 1, 15, 9)
    [retimed] = await harness.events(type="sla.retimed")
    assert retimed["data"]["ticket_id"] == ticket["id"]
    assert _when(retimed["data"]["resolution_due"]) == utc(2030, 1, 15, 9)


FEED = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
    "BEGIN:VEVENT\r\nUID:offsite\r\nDTSTART;TZID=Europe/Berlin:20300114T090000\r\n"
    "DTEND;TZID=Europe/Berlin:20300114T120000\r\nSUMMARY:Team offsite\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)


@pytest.fixture
def feed_server() -> Iterator[str]:
    """A real HTTP server: /team.ics is the feed, /gone 404, /junk not iCal."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            found = {"/team.ics": FEED, "/junk": "<html>not a calendar</html>"}.get(self.path)
            self.send_response(200 if found else 404)
            self.end_headers()
            self.wfile.write((found or "gone").encode())

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
async def feed_harness(settings: Settings, clock: ManualClock) -> AsyncIterator[Harness]:
    from nixflow.bootstrap import build

    allowed = settings.model_copy(update={"webhook_allow_private": True})
    async for h in start(allowed, nixflow=build(allowed, clock=clock)):
        yield h


async def test_ical_feed_events_are_closed_time(feed_harness: Harness, clock: ManualClock, feed_server: str) -> None:
    harness = feed_harness
    admin, requester = await harness.user("admin"), await harness.user("requester")
    clock.now = utc(2030, 1, 11, 15, 30)  # Friday 16:30 in Berlin
    for path, why in (("/gone", "answered 404"), ("/junk", "not a readable iCal feed")):
        body = {"name": "Feed", "timezone": "Europe/Berlin", "hours": OFFICE, "ical_url": feed_server + path}
        refused = await harness.client.post("/api/calendars", json=body, headers=admin.headers)
        assert refused.status_code == 422 and why in refused.text, refused.text
    assert (await harness.client.get("/api/calendars", headers=admin.headers)).json() == []

    office = await _calendar(harness, admin, ical_url=feed_server + "/team.ics")
    assert office["ical_url"] == feed_server + "/team.ics" and office["closed_periods"] == 1
    await _policy(harness, admin, office["id"])
    ticket = await _open(harness, requester)
    # 30 minutes on Friday; Monday 09:00-12:00 is the offsite: due Monday 12:30 in Berlin.
    assert _when(ticket["sla"]["first_response_due"]) == utc(2030, 1, 14, 11, 30)


async def test_a_category_calendar_applies_when_the_policy_has_none(timed_harness: Harness, clock: ManualClock) -> None:
    harness = timed_harness
    admin, requester = await harness.user("admin"), await harness.user("requester")
    clock.now = utc(2030, 1, 11, 15, 30)  # Friday 16:30 in Berlin
    office = await _calendar(harness, admin)
    created = await harness.client.post(
        "/api/categories", json={"name": "Facilities", "calendar_id": office["id"]}, headers=admin.headers
    )
    assert created.status_code == 201 and created.json()["calendar_id"] == office["id"], created.text
    ticket = await _open(harness, requester, category_id=created.json()["id"])
    # The normal policy's 240 minutes: 30 on Friday, 210 on Monday from 09:00 (Berlin).
    assert _when(ticket["sla"]["first_response_due"]) == utc(2030, 1, 14, 11, 30)
    plain = await _open(harness, requester)  # no category: the normal policy, 24/7
    assert _when(plain["sla"]["first_response_due"]) == utc(2030, 1, 11, 15, 30) + timedelta(minutes=240)
    refused = await harness.client.delete(f"/api/calendars/{office['id']}", headers=admin.headers)
    assert refused.status_code == 409 and "Facilities" in refused.text
