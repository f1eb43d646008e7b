"""A client change that read a ticket before the SLA job's claim committed does not write back the SLA marks it
read (PostgreSQL, read committed): the claim bumps no version, so the save is conditional on `next_check_at`
too, which every claim moves; the unit loses the race (`ChangedMeanwhile`) and runs again on the new state.
"""

from __future__ import annotations

import pytest
from tests.conftest import Harness, ManualClock

from nixflow.domain.envelope import EventContext
from nixflow.domain.errors import ChangedMeanwhile
from nixflow.domain.tickets import Status
from nixflow.ids import uuid7
from nixflow.services import tickets
from nixflow.services.users import SYSTEM
from nixflow.store.db import Tx


async def test_a_resolve_that_read_before_the_claim_keeps_its_breach(
    timed_harness: Harness, clock: ManualClock, mode: str
) -> None:
    if mode == "embedded":
        pytest.skip("SQLite has one writer: no claim can commit between a unit's read and its save")
    h = timed_harness
    admin, requester = await h.user("admin"), await h.user("requester")
    for rule in (await h.client.get("/api/rules", headers=admin.headers)).json():
        if rule["kind"] == "escalation":  # only the SLA alarms: an escalation would bump the version
            off = await h.client.patch(f"/api/rules/{rule['id']}", json={"active": False}, headers=admin.headers)
            assert off.status_code == 200, off.text
    body = {"title": "Mail is slow", "description": "since this morning", "priority": "critical"}
    created = await h.client.post("/api/tickets", json=body, headers=requester.headers)
    assert created.status_code == 201, created.text
    ticket_id = int(created.json()["id"])
    await h.settle()
    clock.advance(minutes=20)  # critical: the first response was due after 15 minutes

    ctx = EventContext(correlation_id=uuid7(), actor_id=None, source="test")
    with h.nixflow.db.write_engine.connect() as conn, conn.begin():
        tx = Tx(conn, ctx, clock.now)
        tickets.current(tx, ticket_id=ticket_id)  # the client's unit reads the ticket ...
        await h.nixflow.scheduler.run_due(now=clock.now)  # ... the job claims it and marks the breach ...
        with pytest.raises(ChangedMeanwhile):  # ... and the client's save, built on what it read, loses
            tickets.transition(tx, actor=SYSTEM, ticket_id=ticket_id, status=Status.RESOLVED)
    await h.settle()

    resolved = await h.client.post(
        f"/api/tickets/{ticket_id}/transition", json={"status": "resolved"}, headers=admin.headers
    )
    assert resolved.status_code == 200, resolved.text
    await h.settle()
    live = (await h.client.get(f"/api/tickets/{ticket_id}", headers=admin.headers)).json()
    assert live["status"] == "resolved" and live["sla"]["breached"] == ["first_response"]
    events = (await h.client.get(f"/api/tickets/{ticket_id}/events", headers=admin.headers)).json()
    point = {"as_of": events[-1]["event_id"]}
    folded = (await h.client.get(f"/api/tickets/{ticket_id}", params=point, headers=admin.headers)).json()
    assert folded == live
