"""GET /metrics: off by default, and what a small workload moves (both modes)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from tests.conftest import Harness, User, start

from nixflow.config import Settings


@pytest.fixture
async def observed(settings: Settings) -> AsyncIterator[Harness]:
    """NixFlow whose /metrics answers the test client (httpx's ASGI transport calls from 127.0.0.1)."""
    allowed = {"metrics_allow": "127.0.0.1/32, ::1/128", "webhook_allow_private": True}
    async for h in start(settings.model_copy(update=allowed)):
        yield h


def sample(text: str, name: str, **labels: str) -> float:
    """The value of the sample `name` whose labels include `labels` (0 when absent)."""
    total = 0.0
    for line in text.splitlines():
        match = re.fullmatch(r"([a-z_:]+)(?:\{(.*)\})? (\S+)", line)
        if match is None or match.group(1) != name:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', match.group(2) or ""))
        if all(found.get(k) == v for k, v in labels.items()):
            total += float(match.group(3))
    return total


async def test_metrics_are_off_by_default(harness: Harness) -> None:
    response = await harness.client.get("/metrics")
    assert response.status_code == 404
    assert "nixflow_" not in response.text


async def test_a_client_outside_the_allow_list_gets_404(settings: Settings) -> None:
    async for h in start(settings.model_copy(update={"metrics_allow": "10.0.0.0/8"})):
        assert (await h.client.get("/metrics")).status_code == 404


async def test_a_workload_moves_the_counters(observed: Harness, requester: User, admin: User) -> None:
    before = (await observed.client.get("/metrics")).text
    created = await observed.client.post(
        "/api/tickets", json={"title": "Metrics", "description": "count me"}, headers=requester.headers
    )
    assert created.status_code == 201, created.text
    ticket_id = created.json()["id"]
    assert (await observed.client.get(f"/api/tickets/{ticket_id}", headers=admin.headers)).status_code == 200
    await observed.settle()
    response = await observed.client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    after = response.text

    written = "nixflow_events_written_total"
    assert sample(after, written, type="ticket.created") >= sample(before, written, type="ticket.created") + 1
    requests = "nixflow_http_requests_total"
    assert sample(after, requests, method="POST", route="/api/tickets", status="201") >= 1
    assert sample(after, requests, route="/api/tickets/{ticket_id:int}", status="200") >= 1
    assert f'route="/api/tickets/{ticket_id}"' not in after  # templates, never raw paths
    assert sample(after, "nixflow_http_request_duration_seconds_count", route="/api/tickets") >= 1
    handled = "nixflow_events_handled_total"
    assert sum(sample(after, handled, outcome=o) for o in ("completed", "failed")) > sum(
        sample(before, handled, outcome=o) for o in ("completed", "failed")
    )
    assert re.search(r'^nixflow_consumer_lag_events\{consumer="tailer"\} \d', after, re.M)
    assert re.search(r"^nixflow_events_unfinished \d", after, re.M)
    assert re.search(r"^nixflow_events_oldest_unfinished_age_seconds \d", after, re.M)
    assert re.search(r"^nixflow_writer_queue_depth \d", after, re.M)
    assert sample(after, "nixflow_writer_turn_seconds_count") > sample(before, "nixflow_writer_turn_seconds_count")


async def test_a_webhook_subscription_has_a_lag(observed: Harness, admin: User) -> None:
    response = await observed.client.post(
        "/api/webhooks",
        json={"url": "http://127.0.0.1:9/in", "event_types": ["ticket.created"], "mode": "paused"},
        headers=admin.headers,
    )
    assert response.status_code == 201, response.text
    text = (await observed.client.get("/metrics")).text
    assert f'nixflow_consumer_lag_events{{consumer="webhook:{response.json()["id"]}"}}' in text
