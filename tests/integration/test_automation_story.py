"""The new-user story of the automation engine, through the HTTP API only."""

from __future__ import annotations

from tests.conftest import Harness, User


async def _network_with_two_agents(harness: Harness, admin: User) -> tuple[int, int, int]:
    category = await harness.client.post("/api/categories", json={"name": "Network"}, headers=admin.headers)
    assert category.status_code == 201, category.text
    category_id = category.json()["id"]
    ids = []
    for name in ("Ana", "Ben"):
        created = await harness.client.post(
            "/api/users",
            json={
                "email": f"{name.lower()}@example.com",
                "name": name,
                "role": "agent",
                "password": "long enough password",
                "category_ids": [category_id],
            },
            headers=admin.headers,
        )
        assert created.status_code == 201, created.text
        ids.append(created.json()["id"])
    return category_id, ids[0], ids[1]


async def test_core_switch_down_becomes_critical_and_goes_round_robin(
    harness: Harness, admin: User, requester: User
) -> None:
    network, ana, ben = await _network_with_two_agents(harness, admin)
    opened = await harness.client.post(
        "/api/tickets",
        json={"title": "Core switch is down", "description": "floor 3 has no network", "category_id": network},
        headers=requester.headers,
    )
    assert opened.status_code == 201, opened.text
    ticket_id = opened.json()["id"]
    await harness.settle()

    ticket = (await harness.client.get(f"/api/tickets/{ticket_id}", headers=admin.headers)).json()
    assert ticket["priority"] == "critical"
    assert ticket["assignee_id"] == ana
    assert ticket["sla"]["first_response_due"] is not None

    second = await harness.client.post(
        "/api/tickets",
        json={"title": "Wifi slow", "description": "in the canteen", "category_id": network},
        headers=requester.headers,
    )
    await harness.settle()
    second_ticket = (await harness.client.get(f"/api/tickets/{second.json()['id']}", headers=admin.headers)).json()
    assert second_ticket["assignee_id"] == ben
    assert second_ticket["priority"] == "normal"

    timeline = (await harness.client.get(f"/api/tickets/{ticket_id}/events", headers=admin.headers)).json()
    types = [e["type"] for e in timeline]
    wanted = ["ticket.created", "automation.rule_applied", "ticket.priority_changed", "ticket.assigned"]
    positions = [types.index(t) for t in wanted]
    assert positions == sorted(positions), types
    by_type = {e["type"]: e for e in reversed(timeline)}  # the first of each type
    created = by_type["ticket.created"]
    for later in wanted[1:]:
        event = by_type[later]
        assert event["metadata"]["causation_id"] == created["event_id"], later
        assert event["metadata"]["correlation_id"] == created["metadata"]["correlation_id"]
    applied = [e for e in timeline if e["type"] == "automation.rule_applied"]
    assert applied[0]["data"]["actions"] == [{"type": "set_priority", "value": "critical"}]
    assert applied[0]["data"]["rule_name"] == "outage or down is critical"

    counters = (await harness.client.get("/api/round-robin/counters", headers=admin.headers)).json()
    assert counters[0]["key"] == f"category:{network}" and counters[0]["value"] == 2


async def test_requester_cannot_see_or_change_rules(harness: Harness, requester: User, agent: User) -> None:
    for user in (requester, agent):
        assert (await harness.client.get("/api/rules", headers=user.headers)).status_code == 403
        assert (await harness.client.get("/api/round-robin/counters", headers=user.headers)).status_code == 403
