"""Time entries: agents log, change and delete their own; totals per ticket; requesters never see any. Both modes."""

from __future__ import annotations

import pytest
from tests.conftest import Harness
from tests.csat_helpers import ticket

TIME_EVENTS = ("ticket.time_logged", "ticket.time_entry_changed", "ticket.time_entry_deleted")


async def test_agents_log_change_and_delete_their_own_time_and_requesters_see_none(harness: Harness) -> None:
    h = harness
    ana, bo, requester = await h.user("agent"), await h.user("agent"), await h.user("requester")
    ticket_id = await ticket(h, requester, ana, assignee_id=ana.id)
    url = f"/api/tickets/{ticket_id}/time-entries"
    version = (await h.client.get(f"/api/tickets/{ticket_id}", headers=ana.headers)).json()["version"]

    first = await h.client.post(
        url, json={"minutes": 30, "billable": True, "note": "remote session"}, headers=ana.headers
    )
    assert first.status_code == 201, first.text
    assert (await h.client.post(url, json={"minutes": 15}, headers=ana.headers)).status_code == 201
    theirs = await h.client.post(url, json={"minutes": 20, "billable": True}, headers=bo.headers)
    for bad in (
        {"minutes": 0},
        {"minutes": 24 * 60 + 1},
        {"minutes": "ten"},
        {"minutes": 5, "extra": 1},
        {"minutes": 5, "billable": 1},
        {"minutes": True},
    ):
        assert (await h.client.post(url, json=bad, headers=ana.headers)).status_code == 422, bad
    listed = (await h.client.get(url, headers=ana.headers)).json()
    assert (listed["total_minutes"], listed["billable_minutes"]) == (65, 50)
    assert [(i["agent_id"], i["minutes"], i["billable"]) for i in listed["items"]] == [
        (ana.id, 30, True),
        (ana.id, 15, False),
        (bo.id, 20, True),
    ]

    mine, other = first.json()["id"], theirs.json()["id"]
    for bad in ({"minutes": True}, {"minutes": 0}, {"billable": "yes"}):
        refused = await h.client.patch(f"{url}/{mine}", json=bad, headers=ana.headers)
        assert refused.status_code == 422, (bad, refused.text)
    changed = await h.client.patch(f"{url}/{mine}", json={"minutes": 45, "note": "and a call"}, headers=ana.headers)
    assert changed.status_code == 200 and changed.json()["minutes"] == 45 and changed.json()["billable"] is True
    assert (await h.client.patch(f"{url}/{other}", json={"minutes": 1}, headers=ana.headers)).status_code == 403
    assert (await h.client.delete(f"{url}/{other}", headers=ana.headers)).status_code == 403
    assert (await h.client.delete(f"{url}/{mine}", headers=ana.headers)).status_code == 204
    assert (await h.client.delete(f"{url}/{mine}", headers=ana.headers)).status_code == 404
    listed = (await h.client.get(url, headers=ana.headers)).json()
    assert (listed["total_minutes"], listed["billable_minutes"]) == (35, 20)
    # Time is not ticket state: the agent's next edit with the version they hold still goes through.
    assert (await h.client.get(f"/api/tickets/{ticket_id}", headers=ana.headers)).json()["version"] == version

    await h.settle()
    logged = [e["type"] for e in await h.events(aggregate_id=str(ticket_id)) if e["type"] in TIME_EVENTS]
    assert logged == ["ticket.time_logged"] * 3 + ["ticket.time_entry_changed", "ticket.time_entry_deleted"]
    # The requester: no list, and no trace of the entries in their ticket's timeline.
    assert (await h.client.get(url, headers=requester.headers)).status_code == 403
    assert (await h.client.post(url, json={"minutes": 5}, headers=requester.headers)).status_code == 403
    timeline = (await h.client.get(f"/api/tickets/{ticket_id}/events", headers=requester.headers)).json()
    items = timeline["items"] if isinstance(timeline, dict) else timeline
    assert items and not [e for e in items if e["type"] in TIME_EVENTS]
    staff_timeline = (await h.client.get(f"/api/tickets/{ticket_id}/events", headers=ana.headers)).json()
    staff_items = staff_timeline["items"] if isinstance(staff_timeline, dict) else staff_timeline
    assert len([e for e in staff_items if e["type"] in TIME_EVENTS]) == 5


@pytest.mark.parametrize("mode", ["embedded"], indirect=True)  # the one submit's all-or-nothing: test_one_submit.py
async def test_time_logged_with_a_reply_commits_with_it_or_not_at_all(harness: Harness) -> None:
    h = harness
    ana, requester = await h.user("agent"), await h.user("requester")
    ticket_id = await ticket(h, requester, ana, assignee_id=ana.id)
    submit = f"/api/tickets/{ticket_id}/update"
    body = {"comment": {"body": "Reset the tunnel"}, "time": {"minutes": 25, "billable": True}, "status": "resolved"}
    sent = await h.client.post(submit, json=body, headers=ana.headers)
    assert sent.status_code == 200, sent.text
    await h.settle()
    events = await h.events(aggregate_id=str(ticket_id))
    logged = [e for e in events if e["type"] == "ticket.time_logged"]
    commented = [e for e in events if e["type"] == "ticket.commented"]
    assert [e["data"]["minutes"] for e in logged] == [25]
    assert logged[0]["metadata"]["correlation_id"] == commented[-1]["metadata"]["correlation_id"]
    # A requester's reply asking to log time is refused whole: no comment either.
    said = {"comment": {"body": "I spent an hour too"}, "time": {"minutes": 60}}
    refused = await h.client.post(submit, json=said, headers=requester.headers)
    assert refused.status_code == 403, refused.text
    comments = (await h.client.get(f"/api/tickets/{ticket_id}/comments", headers=ana.headers)).json()
    assert [c["body"] for c in comments] == ["Reset the tunnel"]
    totals = (await h.client.get(f"/api/tickets/{ticket_id}/time-entries", headers=ana.headers)).json()
    assert totals["total_minutes"] == 25


@pytest.mark.parametrize("mode", ["embedded"], indirect=True)  # one UPDATE per entry: nothing engine-specific
async def test_a_merge_moves_the_time_to_the_surviving_ticket(harness: Harness) -> None:
    h = harness
    ana, requester = await h.user("agent"), await h.user("requester")
    survivor = await ticket(h, requester, ana, assignee_id=ana.id)
    merged = await ticket(h, requester, ana, assignee_id=ana.id)
    for ticket_id, minutes in ((survivor, 10), (merged, 20), (merged, 5)):
        body = {"minutes": minutes}
        assert (
            await h.client.post(f"/api/tickets/{ticket_id}/time-entries", json=body, headers=ana.headers)
        ).is_success
    merge = await h.client.post(f"/api/tickets/{merged}/merge", json={"into": survivor}, headers=ana.headers)
    assert merge.status_code == 200, merge.text
    totals = {
        t: (await h.client.get(f"/api/tickets/{t}/time-entries", headers=ana.headers)).json()
        for t in (survivor, merged)
    }
    assert (totals[survivor]["total_minutes"], totals[merged]["total_minutes"]) == (35, 0)
    changes = await h.events(type="ticket.time_entry_changed", aggregate_id=str(survivor))
    assert sorted(e["data"]["minutes"] for e in changes) == [5, 20] and {e["data"]["moved_from"] for e in changes} == {
        merged
    }
