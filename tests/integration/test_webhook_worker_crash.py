"""A worker killed with SIGKILL in the middle of a webhook delivery: once its claim runs out, a restarted worker
sends the same event again with the same webhook-id; two workers never send one delivery at once."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from tests.conftest import Harness, start
from tests.webhook_receiver import Receiver, webhook_receiver
from tests.workers import Workers

from nixflow.config import Settings

LEASE_SECONDS = 6.0  # the request timeout is a third: the kill comes well before it


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with webhook_receiver() as running:
        yield running


@pytest.fixture
def hooked(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "webhook_allow_private": True,
            "webhook_retry_scale": 0.01,
            "claim_idle_seconds": LEASE_SECONDS,
            "tick_seconds": 0.1,
        }
    )


@pytest.fixture
async def api_only(hooked: Settings) -> AsyncIterator[Harness]:
    """This process serves the API only; the deliveries are made by separate worker processes."""
    async for h in start(hooked, run_worker=False):
        yield h


@pytest.fixture
def workers(hooked: Settings, tmp_path: Path) -> Iterator[Workers]:
    running = Workers(hooked, tmp_path)
    yield running
    running.stop()


@pytest.mark.slow
async def test_a_worker_killed_mid_delivery_is_followed_by_a_redelivery_with_the_same_id(
    api_only: Harness, receiver: Receiver, workers: Workers, mode: str
) -> None:
    h = api_only
    admin = await h.user("admin")
    made = await h.client.post(
        "/api/webhooks",
        json={"url": receiver.url, "event_types": ["ticket.created", "ticket.commented"]},
        headers=admin.headers,
    )
    assert made.status_code == 201, made.text
    receiver.secrets.append(made.json()["secret"])
    receiver.hold_next = True
    first = workers.start()

    opened = await h.client.post("/api/tickets", json={"title": "Deliver me"}, headers=admin.headers)
    assert opened.status_code == 201, opened.text
    assert await asyncio.to_thread(receiver.held.wait, 60), "the worker never started delivering"
    first.send_signal(signal.SIGKILL)  # while the receiver holds its request
    first.wait(timeout=10)
    receiver.release.set()

    workers.start()
    if mode == "scaleout":
        workers.start()  # two workers racing for the same delivery
    got = await asyncio.to_thread(receiver.wait_for, 2, 60)
    created = (await h.events(type="ticket.created"))[-1]
    assert [r.webhook_id for r in got] == [created["event_id"]] * 2
    assert all(r.verified_by for r in got)
    # The ticket's next event is sent only once its creation's delivery is done: a third send of that (two workers
    # at once, or a claim lost) would come before it.
    said = await h.client.post(
        f"/api/tickets/{opened.json()['id']}/comments", json={"body": "later"}, headers=admin.headers
    )
    assert said.status_code == 201, said.text
    marker = (await h.events(type="ticket.commented"))[-1]["event_id"]
    upto = await asyncio.to_thread(receiver.until, marker, 60)
    assert [r.webhook_id for r in upto] == [created["event_id"]] * 2 + [marker]

    listed = await h.client.get(f"/api/webhooks/{made.json()['id']}/deliveries", headers=admin.headers)
    done = {d["event_id"]: d for d in listed.json()["items"]}
    assert done[created["event_id"]]["status"] == "succeeded" and done[created["event_id"]]["last_status_code"] == 200
