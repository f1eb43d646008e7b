"""A bulk change reaches the live UI as each ticket's unit commits, through the ordinary events on the WebSocket,
every one carrying the bulk request's correlation id; in both modes."""

from __future__ import annotations

from typing import Any

from tests.conftest import Harness
from tests.integration.test_ws import live, open_ticket, receive_until, ws_url  # noqa: F401 (`live`: a fixture)
from websockets.asyncio.client import connect


async def test_each_ticket_of_a_bulk_change_is_pushed_with_the_requests_correlation(live: Harness) -> None:  # noqa: F811
    agent = await live.user("agent")
    requester = await live.user("requester")
    made = [await open_ticket(live, requester, f"Monitor {i}") for i in range(3)]
    ids = {str(t["id"]) for t in made}
    pushed: set[str] = set()

    def all_tagged(event: dict[str, Any]) -> bool:
        if event["type"] == "ticket.tagged" and event["aggregate_id"] in ids:
            pushed.add(event["aggregate_id"])
        return pushed == ids

    async with connect(ws_url(live, agent)) as ws:
        body = {"ticket_ids": [t["id"] for t in made], "actions": {"add_tags": ["monitor"], "priority": "high"}}
        headers = {**agent.headers, "X-Correlation-ID": "bulk-live-1"}
        answer = await live.client.post("/api/tickets/bulk", json=body, headers=headers)
        assert answer.status_code == 200 and answer.json()["applied"] == 3, answer.text
        got = await receive_until(ws, all_tagged)
    bulk_events = [e for e in got if e["aggregate_id"] in ids and e["type"] != "ticket.created"]
    assert {e["type"] for e in bulk_events} >= {"ticket.tagged", "ticket.priority_changed"}
    assert {e["metadata"]["correlation_id"] for e in bulk_events if e["type"] == "ticket.tagged"} == {"bulk-live-1"}
