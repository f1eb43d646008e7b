"""By organization, in both modes: an organization's own SLA policy times its tickets (and re-times the open ones
when set or removed), the queue and the reports filter by it, and a rule's `organization_id` condition picks its
tickets."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tests.conftest import Harness, User
from tests.org_helpers import ok, organization, queue_ids


async def _open(h: Harness, who: User, title: str) -> dict[str, Any]:
    made = await ok(await h.client.post("/api/tickets", json={"title": title}, headers=who.headers), 201)
    await h.settle()
    return dict(made)


def _minutes(ticket: dict[str, Any], target: str) -> float:
    due, created = datetime.fromisoformat(ticket["sla"][f"{target}_due"]), datetime.fromisoformat(ticket["created_at"])
    return (due - created).total_seconds() / 60


async def _read(h: Harness, agent: User, ticket_id: int) -> dict[str, Any]:
    return dict(await ok(await h.client.get(f"/api/tickets/{ticket_id}", headers=agent.headers)))


async def test_an_organizations_sla_policy_times_its_tickets(harness: Harness, admin: User, agent: User) -> None:
    h = harness
    pat, sam = await h.user("requester"), await h.user("requester")
    acme = await organization(h, admin, "Acme", pat)
    path = f"/api/sla/policies/organizations/{acme['id']}"
    before = await _open(h, pat, "Opened under the normal policy")
    assert _minutes(before, "first_response") == 240  # the seeded policy of `normal`
    policy = {"first_response_minutes": 30, "resolution_minutes": 120, "warning_percent": 50}
    set_ = await ok(await h.client.put(f"{path}/normal", json=policy, headers=admin.headers))
    assert set_ | policy == set_ and set_["organization_id"] == acme["id"] and set_["priority"] == "normal"
    retimed = await _read(h, agent, before["id"])
    assert (_minutes(retimed, "first_response"), _minutes(retimed, "resolution")) == (30, 120)
    acmes, others = await _open(h, pat, "Acme's"), await _open(h, sam, "Not Acme's")
    assert _minutes(acmes, "first_response") == 30 and _minutes(others, "first_response") == 240
    assert await ok(await h.client.get(path, headers=admin.headers)) == [set_]
    assert (await h.client.put(f"{path}/normal", json=policy, headers=agent.headers)).status_code == 403
    assert (await h.client.delete(f"{path}/normal", headers=admin.headers)).status_code == 204
    assert _minutes(await _read(h, agent, acmes["id"]), "first_response") == 240
    assert (await h.client.delete(f"{path}/normal", headers=admin.headers)).status_code == 404
    missing = await h.client.put("/api/sla/policies/organizations/999999/normal", json=policy, headers=admin.headers)
    assert missing.status_code == 404
    trail = [e["type"] for e in await h.events(aggregate_type="organization")]
    assert trail[-2:] == ["organization.sla_policy_set", "organization.sla_policy_removed"]
    assert [e["type"] for e in await h.events(type="sla.retimed")].count("sla.retimed") >= 2


async def test_queue_and_reports_filter_by_organization(harness: Harness, admin: User, agent: User) -> None:
    h = harness
    pat, sam = await h.user("requester"), await h.user("requester")
    acme = await organization(h, admin, "Acme", pat)
    first, second, other = await _open(h, pat, "One"), await _open(h, pat, "Two"), await _open(h, sam, "Three")
    assert await queue_ids(h, agent, organization_id=acme["id"]) == [second["id"], first["id"]]
    assert other["id"] in await queue_ids(h, agent)
    summary = await ok(await h.client.get(f"/api/reports/summary?organization_id={acme['id']}", headers=agent.headers))
    assert summary["tickets_created"] == 2
    drill = await ok(
        await h.client.get(
            "/api/reports/drilldown",
            params={"metric": "tickets_created", "organization_id": acme["id"]},
            headers=agent.headers,
        )
    )
    assert sorted(i["ticket_id"] for i in drill["items"]) == [first["id"], second["id"]]
    everyone = await ok(await h.client.get("/api/reports/summary", headers=agent.headers))
    assert everyone["tickets_created"] == 3


async def test_a_rule_condition_on_the_organization(harness: Harness, admin: User, agent: User) -> None:
    h = harness
    pat, sam = await h.user("requester"), await h.user("requester")
    acme = await organization(h, admin, "Acme", pat)
    rule = {
        "name": "Acme is urgent",
        "kind": "prioritization",
        "conditions": {"all": [{"field": "organization_id", "op": "equals", "value": acme["id"]}]},
        "actions": [{"type": "set_priority", "value": "high"}],
    }
    await ok(await h.client.post("/api/rules", json=rule, headers=admin.headers), 201)
    acmes, others = await _open(h, pat, "Acme's"), await _open(h, sam, "Not Acme's")
    assert (await _read(h, agent, acmes["id"]))["priority"] == "high"
    assert (await _read(h, agent, others["id"]))["priority"] == "normal"
