"""A subscription whose secret no key opens any more (the key it was stored under was dropped), and what a
shadow subscription writes to the log (issue 22)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from sqlalchemy import update
from tests.conftest import Harness, ManualClock, User, start
from tests.webhook_receiver import Receiver, webhook_receiver

from nixflow.bootstrap import build
from nixflow.config import Settings
from nixflow.crypto import Keyring
from nixflow.store.tables import webhooks


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with webhook_receiver() as running:
        yield running


@pytest.fixture
async def h(settings: Settings, clock: ManualClock) -> AsyncIterator[Harness]:
    hooks = settings.model_copy(update={"webhook_allow_private": True, "webhook_retry_scale": 1.0})
    async for running in start(hooks, nixflow=build(hooks, clock=clock)):
        yield running


async def subscribe(h: Harness, admin: User, receiver: Receiver, **extra: Any) -> int:
    body = {"url": receiver.url, "event_types": ["ticket.created"], **extra}
    made = await h.client.post("/api/webhooks", json=body, headers=admin.headers)
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


async def until(check: Any, within: float = 30) -> Any:
    deadline = asyncio.get_running_loop().time() + within
    while not (value := await check()):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)
    return value


async def first_delivery(h: Harness, admin: User, webhook_id: int, attempts: int) -> dict[str, Any] | None:
    found = await h.client.get(f"/api/webhooks/{webhook_id}/deliveries", headers=admin.headers)
    items: list[dict[str, Any]] = found.json()["items"]
    return items[0] if items and items[0]["attempts"] >= attempts else None


async def test_an_undecryptable_secret_is_a_failed_attempt_then_the_subscription_is_disabled(
    h: Harness, clock: ManualClock, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    admin = await h.user("admin")
    webhook_id = await subscribe(h, admin, receiver)
    dropped = Keyring("a key that was dropped from NIXFLOW_SECRET_KEY_PREVIOUS").encrypt("whsec_AAAA")
    stored = update(webhooks).where(webhooks.c.id == webhook_id).values(secret=dropped)
    await h.write(lambda tx: tx.conn.execute(stored))
    caplog.set_level(logging.INFO, logger="nixflow")
    made = await h.client.post("/api/tickets", json={"title": "Sign me"}, headers=admin.headers)
    assert made.status_code == 201

    first = await until(lambda: first_delivery(h, admin, webhook_id, 1))
    assert first["status"] == "retrying" and first["next_attempt_at"] is not None  # backs off like any failure
    assert "cannot be decrypted" in first["last_error"]
    detail = await h.client.get(f"/api/webhooks/{webhook_id}/deliveries/{first['id']}", headers=admin.headers)
    assert [a["error"] for a in detail.json()["history"]] == [first["last_error"]]
    assert receiver.received == []  # nothing goes out unsigned
    assert not [r for r in caplog.records if r.exc_info], "no traceback for a secret no key opens"

    clock.advance(hours=25)  # past the retry and past the 24 hours a subscription may fail for
    await until(lambda: first_delivery(h, admin, webhook_id, 2))

    async def disabled() -> dict[str, Any] | None:
        found = await h.client.get(f"/api/webhooks/{webhook_id}", headers=admin.headers)
        return found.json() if found.json()["disabled_reason"] else None

    paused = await until(disabled)
    assert paused["mode"] == "paused" and "24 hours" in paused["disabled_reason"]
    assert [e["data"]["webhook_id"] for e in await h.events(type="webhook.disabled")] == [webhook_id]
    assert receiver.received == []


async def test_a_shadow_delivery_logs_ids_not_the_body(
    h: Harness, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    admin = await h.user("admin")
    webhook_id = await subscribe(h, admin, receiver, mode="shadow")
    caplog.set_level(logging.DEBUG, logger="nixflow")
    made = await h.client.post(
        "/api/tickets", json={"title": "Quiet", "description": "card number 4111-SECRET"}, headers=admin.headers
    )
    assert made.status_code == 201

    async def logged() -> list[str]:
        return [r.getMessage() for r in caplog.records if "shadow, not sent" in r.getMessage()]

    [line] = await until(logged)
    event_id = (await h.events(type="ticket.created"))[-1]["event_id"]
    assert f"webhook {webhook_id} " in line and event_id in line and "ticket.created" in line
    assert "SECRET" not in caplog.text and "Quiet" not in caplog.text and "webhook-signature" not in caplog.text
    assert receiver.received == []
