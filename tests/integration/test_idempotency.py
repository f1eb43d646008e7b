"""Idempotency-Key on ticket creation."""

from __future__ import annotations

import asyncio

from tests.conftest import Harness, User


async def test_a_retried_create_answers_with_the_first_ticket(harness: Harness, requester: User) -> None:
    headers = {**requester.headers, "Idempotency-Key": "retry-1"}
    first = await harness.client.post("/api/tickets", json={"title": "Mail down"}, headers=headers)
    again = await harness.client.post("/api/tickets", json={"title": "Mail down"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    other_body = await harness.client.post("/api/tickets", json={"title": "Mail is down"}, headers=headers)
    assert other_body.status_code == 422
    await harness.settle()
    assert len(await harness.events(type="ticket.created")) == 1


async def test_keys_are_per_user_and_concurrent_retries_create_one(harness: Harness, requester: User) -> None:
    other = await harness.user("requester")
    key = {"Idempotency-Key": "shared-key"}
    responses = await asyncio.gather(
        *[
            harness.client.post("/api/tickets", json={"title": "Badge broken"}, headers={**requester.headers, **key})
            for _ in range(10)
        ]
    )
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1
    theirs = await harness.client.post("/api/tickets", json={"title": "Badge broken"}, headers={**other.headers, **key})
    assert theirs.status_code == 201 and theirs.json()["id"] != responses[0].json()["id"]
    await harness.settle()
    assert len(await harness.events(type="ticket.created")) == 2
