"""Time travel: `GET /api/tickets/{id}?as_of=` gives the ticket exactly as the API showed it at that point,
rebuilt from its events, through 20 changes of every kind (and the SLA clock), in both modes."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from tests.conftest import Harness, ManualClock, User


@dataclass
class Moment:
    """What the API showed after one change: the ticket, the newest event of its timeline, and when."""

    label: str
    ticket: dict[str, Any]
    event_id: str
    at: str


async def _ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


class Walk:
    def __init__(self, harness: Harness, clock: ManualClock, admin: User) -> None:
        self.h = harness
        self.clock = clock
        self.admin = admin
        self.moments: list[Moment] = []
        self.ticket_id = 0

    async def current(self) -> dict[str, Any]:
        return await _ok(await self.h.client.get(f"/api/tickets/{self.ticket_id}", headers=self.admin.headers))

    async def timeline(self, user: User | None = None) -> list[dict[str, Any]]:
        who = user or self.admin
        response = await self.h.client.get(f"/api/tickets/{self.ticket_id}/events", headers=who.headers)
        assert response.status_code == 200, response.text
        return list(response.json())

    async def step(self, label: str, minutes: float = 7) -> None:
        """Let the change settle, run the timers at the (already moved) clock, and note what the API shows."""
        await self.h.nixflow.scheduler.run_due(now=self.clock.now)
        await self.h.settle()
        events = await self.timeline()
        self.moments.append(Moment(label, await self.current(), events[-1]["event_id"], self.clock.now.isoformat()))
        self.clock.advance(minutes=minutes)

    async def patch(self, user: User, **changes: Any) -> None:
        version = (await self.current())["version"]
        await _ok(
            await self.h.client.patch(
                f"/api/tickets/{self.ticket_id}", json={"version": version, **changes}, headers=user.headers
            )
        )

    async def move(self, user: User, status: str) -> None:
        await _ok(
            await self.h.client.post(
                f"/api/tickets/{self.ticket_id}/transition", json={"status": status}, headers=user.headers
            )
        )

    async def comment(self, user: User, body: str, *, internal: bool = False) -> None:
        await _ok(
            await self.h.client.post(
                f"/api/tickets/{self.ticket_id}/comments",
                json={"body": body, "internal": internal},
                headers=user.headers,
            ),
            201,
        )

    async def as_of(self, point: str, user: User | None = None) -> Any:
        who = user or self.admin
        return await self.h.client.get(f"/api/tickets/{self.ticket_id}", params={"as_of": point}, headers=who.headers)


async def _category(h: Harness, admin: User, name: str, agents: list[User]) -> int:
    created = await _ok(
        await h.client.post(
            "/api/categories", json={"name": name, "agent_ids": [a.id for a in agents]}, headers=admin.headers
        ),
        201,
    )
    return int(created["id"])


async def test_twenty_changes_each_state_rebuilt_exactly(timed_harness: Harness, clock: ManualClock) -> None:
    h = timed_harness
    admin, requester = await h.user("admin"), await h.user("requester")
    ann, bob = await h.user("agent", name="Ann"), await h.user("agent", name="Bob")
    printers = await _category(h, admin, "Printers", [ann])
    network = await _category(h, admin, "Network", [bob])
    walk = Walk(h, clock, admin)

    created = await _ok(
        await h.client.post(
            "/api/tickets",
            json={
                "title": "Printer jams",
                "description": "second floor",
                "category_id": printers,
                "requires_approval": True,
            },
            headers=requester.headers,
        ),
        201,
    )
    walk.ticket_id = created["id"]
    await walk.step("1 created, assigned round-robin")
    await _ok(await h.client.post(f"/api/tickets/{walk.ticket_id}/approve", json={}, headers=admin.headers))
    await walk.step("2 approved")
    await walk.comment(ann, "checking the tray", internal=True)
    await walk.step("3 internal note")
    await walk.comment(ann, "Could you send a photo?")
    await walk.step("4 first public reply: first response met, and the reply opens the ticket")
    await walk.comment(requester, "here is the photo")
    await walk.step("5 the requester answers: an open ticket stays open")
    await walk.patch(ann, priority="high")
    await walk.step("6 priority high")
    await walk.patch(admin, category_id=network)
    await walk.step("7 category changed")
    await walk.patch(admin, assignee_id=bob.id)
    await walk.step("8 reassigned")
    await walk.patch(requester, title="Printer down on the second floor")
    await walk.step("9 title edited: the outage rule makes it critical")
    await walk.move(bob, "pending")
    await walk.step("10 pending: the SLA clock pauses", minutes=90)
    await walk.move(bob, "open")
    await walk.step("11 open again: due times move by the pause", minutes=200)
    await walk.step("12 the timers: resolution warned, breached, escalated")
    await walk.patch(admin, assignee_id=None)
    await walk.step("13 unassigned")
    await walk.patch(requester, description="second floor, all printers")
    await walk.step("14 description edited")
    await walk.patch(admin, priority="low")
    await walk.step("15 priority low: the agent's choice stands, no rule reacts to a priority change")
    put = await h.client.put(
        "/api/sla/policies/low",
        json={"first_response_minutes": 30, "resolution_minutes": 600, "warning_percent": 75},
        headers=admin.headers,
    )
    assert put.status_code == 200, put.text
    await walk.step("16 the low policy changes: due times move")
    await walk.move(bob, "resolved")
    await walk.step("17 resolved")
    await walk.move(requester, "open")
    await walk.step("18 reopened by the requester")
    await walk.comment(requester, "still jamming")
    await walk.step("19 requester comment")
    await walk.move(bob, "resolved")
    await walk.move(requester, "closed")
    await walk.step("20 resolved and closed")

    states = [m.ticket for m in walk.moments]
    assert len(states) == 20
    # The walk really changed what it says, so the comparison below cannot pass by accident.
    assert states[0]["assignee_id"] == ann.id and states[0]["approval"] == "pending"
    assert states[1]["approval"] == "approved"
    assert states[2]["sla"]["first_response_at"] is None and states[3]["sla"]["first_response_at"] is not None
    assert states[6]["category_id"] == network and states[7]["assignee_id"] == bob.id
    assert states[8]["priority"] == "critical" and states[9]["sla"]["paused"] is True
    assert states[10]["sla"]["resolution_due"] != states[9]["sla"]["resolution_due"]
    assert states[11]["sla"]["breached"] == ["resolution"] and states[11]["escalation_level"] > 0
    assert states[12]["assignee_id"] is None and states[14]["priority"] == "low"
    assert states[15]["sla"]["resolution_due"] != states[14]["sla"]["resolution_due"]
    assert states[19]["status"] == "closed"
    versions = [s["version"] for s in states]
    # Every change makes a new version but the timers' SLA alarms (step 12) and the policy's re-timing (step 16).
    steady = [i + 2 for i, (a, b) in enumerate(itertools.pairwise(versions)) if b == a]
    assert steady == [12, 16] and versions == sorted(versions), versions

    for moment in walk.moments:
        by_event = await _ok(await walk.as_of(moment.event_id))
        assert by_event == moment.ticket, moment.label
        by_time = await _ok(await walk.as_of(moment.at))
        assert by_time == moment.ticket, moment.label

    # Every event of the timeline is a point to stand at; versions never go back, and the very first event
    # is the ticket as its requester opened it, before any rule touched it.
    timeline = await walk.timeline()
    versions = [(await _ok(await walk.as_of(e["event_id"])))["version"] for e in timeline]
    assert versions == sorted(versions) and versions[-1] == states[-1]["version"]
    first = await _ok(await walk.as_of(timeline[0]["event_id"]))
    assert timeline[0]["type"] == "ticket.created"
    assert first["version"] == 1 and first["assignee_id"] is None and first["title"] == "Printer jams"
    outage = next(
        e for e in timeline if e["type"] == "ticket.priority_changed" and e["data"]["new_priority"] == "critical"
    )
    before = timeline[timeline.index(outage) - 1]
    assert (await _ok(await walk.as_of(before["event_id"])))["priority"] == "high"
    assert (await _ok(await walk.as_of(outage["event_id"])))["priority"] == "critical"


async def test_requesters_travel_only_in_their_own_public_history(timed_harness: Harness, clock: ManualClock) -> None:
    h = timed_harness
    admin, agent, requester, other = (
        await h.user("admin"),
        await h.user("agent"),
        await h.user("requester"),
        await h.user("requester"),
    )
    walk = Walk(h, clock, admin)
    created = await _ok(
        await h.client.post("/api/tickets", json={"title": "Badge broken"}, headers=requester.headers), 201
    )
    walk.ticket_id = created["id"]
    await walk.step("created")
    await walk.comment(agent, "the requester lost it twice", internal=True)
    await walk.step("internal note")
    note = (await walk.timeline())[-1]
    assert note["type"] == "ticket.commented" and note["data"]["internal"] is True
    await walk.comment(agent, "A new badge is on its way")
    await walk.step("public reply")

    mine = await walk.timeline(requester)
    theirs = {e["event_id"] for e in mine}
    assert note["event_id"] not in theirs and any(m.event_id in theirs for m in walk.moments)
    for moment in walk.moments:
        # A requester names only events of their timeline: not the internal note, nor SLA bookkeeping.
        if moment.event_id not in theirs:
            assert (await walk.as_of(moment.event_id, requester)).status_code == 404
        else:
            assert await _ok(await walk.as_of(moment.event_id, requester)) == moment.ticket
        assert await _ok(await walk.as_of(moment.at, requester)) == moment.ticket
    for point in (mine[0]["event_id"], walk.moments[-1].at):
        refused = await walk.as_of(point, other)
        assert refused.status_code == 404, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")


async def test_bad_points_are_refused_and_change_nothing(timed_harness: Harness, clock: ManualClock) -> None:
    h = timed_harness
    admin, requester = await h.user("admin"), await h.user("requester")
    walk = Walk(h, clock, admin)
    first = await _ok(await h.client.post("/api/tickets", json={"title": "Mouse"}, headers=requester.headers), 201)
    second = await _ok(await h.client.post("/api/tickets", json={"title": "Keyboard"}, headers=requester.headers), 201)
    await h.settle()
    walk.ticket_id = second["id"]
    other_event = (await h.client.get(f"/api/tickets/{first['id']}/events", headers=admin.headers)).json()[0]
    before = await h.events()

    for bad in ("yesterday", "2030-01-07T09:00:00", "2030-02-30T09:00:00Z", "2030-01-07 09:00Z", "12345", "0" * 36):
        response = await walk.as_of(bad)
        assert response.status_code == 422, (bad, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
    # An event of another ticket, an event that does not exist, a time before the ticket: not in its history.
    for missing in (
        other_event["event_id"],
        "0190f5a2-0000-7000-8000-000000000000",
        (clock.now - timedelta(days=1)).isoformat(),
    ):
        response = await walk.as_of(missing)
        assert response.status_code == 404, (missing, response.text)
    assert await h.events() == before
