"""A first walk through the write path: open a ticket, see its event."""

from __future__ import annotations

from tests.conftest import Harness, User


async def test_ticket_created_event_carries_correlation(harness: Harness, requester: User, admin: User) -> None:
    response = await harness.client.post(
        "/api/tickets", json={"title": "Printer jams", "description": "floor 2"}, headers=requester.headers
    )
    assert response.status_code == 201, response.text
    ticket = response.json()
    assert ticket["status"] == "new" and ticket["version"] == 1
    await harness.settle()
    events = (await harness.client.get("/api/events", params={"type": "ticket.created"}, headers=admin.headers)).json()
    [event] = events["items"]
    assert event["aggregate_id"] == str(ticket["id"])
    assert event["metadata"]["correlation_id"]
    assert event["status"] == "completed"
