"""A target met after its due time is breached as it is met, whether or not the SLA job ran in between, and the
reports count it; the job and the late reply never fire a target twice, also racing on PostgreSQL."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from tests.conftest import Harness, ManualClock, User
from tests.scenario import Scenario, iso


@pytest.fixture
async def story(timed_harness: Harness, clock: ManualClock) -> Scenario:
    s = Scenario(timed_harness, clock)
    await s.hold_jobs()  # nothing runs between the steps unless a test says `at`
    s.jump(0)
    return s


async def _sla(h: Harness, ticket_id: int) -> list[tuple[str, str, Any]]:
    kinds = ("sla.warning", "sla.breached", "sla.met")
    events = await h.events(aggregate_id=str(ticket_id))
    return [(e["type"], e["data"]["target"], e["data"].get("met_at")) for e in events if e["type"] in kinds]


async def _compliance(h: Harness, user: User) -> dict[str, Any]:
    everything = {"until": "9999-12-31T00:00:00Z"}  # by default until now, which leaves out what happened now
    summary = await h.client.get("/api/reports/summary", params=everything, headers=user.headers)
    assert summary.status_code == 200, summary.text
    return dict(summary.json()["sla_compliance"])


async def test_a_late_first_reply_and_a_late_resolution_are_breaches_with_no_job_between(story: Scenario) -> None:
    s, h = story, story.harness
    agent, requester = await h.user("agent"), await h.user("requester")
    await s.open(requester, "late")  # normal priority: first response due at 240 min, resolution at 1440
    ticket_id = s.tickets["late"]
    s.jump(300)
    await s.comment(agent, "late")  # 60 minutes late, and no job ran since the ticket was opened
    assert await _sla(h, ticket_id) == [("sla.breached", "first_response", iso(300))]
    [breach] = await h.events(type="sla.breached")
    assert breach["data"]["due_at"] == iso(240) and breach["metadata"]["source"] == "api"
    shown = await s.call(agent, "GET", f"/api/tickets/{ticket_id}")
    assert shown["status"] == "open" and shown["sla"]["breached"] == ["first_response"]
    assert await _compliance(h, agent) == {"first_response": 0.0, "resolution": None}

    s.jump(1500)
    await s.move(agent, "late", "resolved")  # resolution due at 1440
    assert (await _sla(h, ticket_id))[1:] == [("sla.breached", "resolution", iso(1500))]
    assert await _compliance(h, agent) == {"first_response": 0.0, "resolution": 0.0}

    await s.at(5000)  # the job, when it runs at last, finds both targets settled: nothing fires twice
    assert [kind for kind, *_ in await _sla(h, ticket_id)] == ["sla.breached", "sla.breached"]
    drill = await h.client.get("/api/reports/drilldown?metric=sla_first_response", headers=agent.headers)
    assert [(i["ticket_id"], i["outcome"]) for i in drill.json()["items"]] == [(ticket_id, "breached")]


async def test_in_time_is_met_and_a_pause_that_ends_in_resolution_counts(story: Scenario) -> None:
    s, h = story, story.harness
    agent, requester = await h.user("agent"), await h.user("requester")
    await s.open(requester, "paused")
    ticket_id = s.tickets["paused"]
    s.jump(10)
    await s.comment(agent, "paused")  # in time; opens the ticket
    s.jump(20)
    await s.move(agent, "paused", "pending")
    s.jump(1500)  # past 1440, but the clock has stood still since minute 20
    await s.move(agent, "paused", "resolved")  # straight from pending: one step
    assert await _sla(h, ticket_id) == [("sla.met", "first_response", iso(10)), ("sla.met", "resolution", iso(1500))]
    shown = await s.call(agent, "GET", f"/api/tickets/{ticket_id}")
    assert shown["status"] == "resolved" and shown["sla"]["paused"] is False and shown["sla"]["breached"] == []
    types = [e["type"] for e in await h.events(aggregate_id=str(ticket_id))]
    assert "sla.paused" in types and "sla.resumed" not in types  # the clock stopped for good, not resumed
    assert await _compliance(h, agent) == {"first_response": 1.0, "resolution": 1.0}


async def test_the_job_and_a_late_reply_racing_breach_once(story: Scenario, mode: str) -> None:
    """On PostgreSQL the job's claim and the reply's write wait on the same row; whichever commits first, the
    other finds the ticket changed (the job fires nothing, the reply is run again) and the breach fires once."""
    if mode == "embedded":
        pytest.skip("SQLite has one writer: the job and the reply cannot overlap")
    s, h = story, story.harness
    agent, requester = await h.user("agent"), await h.user("requester")
    await s.open(requester, "race")
    ticket_id = s.tickets["race"]
    s.jump(300)
    other = create_engine(h.nixflow.db.url)
    try:
        with other.connect() as conn:
            hold = conn.begin()
            conn.execute(text("SELECT id FROM tickets WHERE id = :id FOR UPDATE"), {"id": ticket_id})
            job = asyncio.create_task(h.nixflow.scheduler.run_due(now=s.clock.now))
            reply = asyncio.create_task(
                h.client.post(f"/api/tickets/{ticket_id}/comments", json={"body": "late"}, headers=agent.headers)
            )
            waiting = text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
            with other.connect() as probe:
                for _ in range(600):  # until both the job's claim and the reply's write wait on the row
                    if probe.execute(waiting).scalar_one() >= 2 or job.done() or reply.done():
                        break
                    await asyncio.sleep(0.05)
                assert not job.done() and not reply.done(), "the job and the reply did not both wait on the row"
            hold.commit()
            await job
            assert (await reply).status_code == 201
    finally:
        other.dispose()
    breaches = [t for kind, t, _ in await _sla(h, ticket_id) if kind == "sla.breached"]
    assert breaches == ["first_response"]
    comments = await s.call(agent, "GET", f"/api/tickets/{ticket_id}")
    assert comments["sla"]["breached"] == ["first_response"] and comments["sla"]["first_response_at"] is not None
