"""Events that fail their last attempt are dead letters: listed and re-driven from the shell."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator

from tests.conftest import Harness, start

from nixflow.bootstrap import build
from nixflow.config import Settings
from nixflow.domain.envelope import EventRecord
from nixflow.events.bus import Handler
from nixflow.store.db import Tx


class Switch:
    """Fails until it is switched on."""

    def __init__(self) -> None:
        self.on = False
        self.calls = 0

    def __call__(self, tx: Tx, record: EventRecord) -> None:
        self.calls += 1
        if not self.on:
            raise RuntimeError("mail server unreachable")


def nixflow_cli(settings: Settings, *args: str) -> str:
    env = {**os.environ, "NIXFLOW_DATABASE_URL": settings.database_url}
    if settings.redis_url:
        env |= {"NIXFLOW_REDIS_URL": settings.redis_url, "NIXFLOW_REDIS_PREFIX": settings.redis_prefix}
    result = subprocess.run(
        [sys.executable, "-m", "nixflow.cli", *args], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


async def running(settings: Settings, switch: Switch) -> AsyncIterator[Harness]:
    handlers = [("ticket.created", Handler("test.mailer", switch))]
    async for h in start(settings, nixflow=build(settings, handlers=handlers)):
        yield h


async def test_failed_events_are_listed_and_redriven(settings: Settings) -> None:
    settings = settings.model_copy(update={"max_attempts": 1})
    switch = Switch()
    async for h in running(settings, switch):
        user = await h.user("requester")
        await h.client.post("/api/tickets", json={"title": "Printer"}, headers=user.headers)
        await h.settle()
        [event] = await h.events(type="ticket.created")
        assert event["status"] == "failed" and "mail server unreachable" in event["error"]
        for _ in range(100):  # the dead letter is written after the delivery's commit
            listing = await asyncio.to_thread(nixflow_cli, settings, "events", "dead-letters")
            if event["event_id"] in listing:
                break
            await asyncio.sleep(0.05)
        assert event["event_id"] in listing and "ticket.created" in listing
        switch.on = True
        assert "1 failed event(s)" in await asyncio.to_thread(nixflow_cli, settings, "events", "redrive")
        for _ in range(200):
            await h.settle()
            [event] = await h.events(type="ticket.created")
            if event["status"] == "completed":
                break
            await asyncio.sleep(0.05)
        assert event["status"] == "completed" and switch.calls == 2
        assert event["event_id"] not in await asyncio.to_thread(nixflow_cli, settings, "events", "dead-letters")
