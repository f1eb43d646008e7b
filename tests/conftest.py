"""Shared fixtures: a real NixFlow on a real SQLite file (and PostgreSQL/Redis where a test asks)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from nixflow.api.app import create_app
from nixflow.bootstrap import NixFlow
from nixflow.config import Settings, load_settings
from nixflow.domain.values import EventStatus, Role
from nixflow.events.envelope import EventContext
from nixflow.ids import uuid7
from nixflow.services import auth, users
from nixflow.store import event_log
from nixflow.store.db import Tx

PASSWORD = "correct horse battery"


def make_settings(database_url: str, **overrides: Any) -> Settings:
    """Settings for a test: fast retries and sweeps, no background ticking surprises."""
    values: dict[str, Any] = {
        "database_url": database_url,
        "retry_base_seconds": 0.01,
        "sweep_after_seconds": 0.2,
        "tick_seconds": 0.05,
        "secret_key": "test-secret-key",
        "env": "test",
    }
    values.update(overrides)
    return load_settings(**values)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'nixflow.db'}"


@pytest.fixture
def settings(sqlite_url: str) -> Settings:
    return make_settings(sqlite_url)


def postgres_url() -> str | None:
    return os.environ.get("NIXFLOW_TEST_POSTGRES_URL")


def redis_url() -> str | None:
    return os.environ.get("NIXFLOW_TEST_REDIS_URL")


@dataclass
class Harness:
    """A running NixFlow app with an HTTP client, plus helpers to arrange and settle state."""

    app: FastAPI
    client: httpx.AsyncClient

    @property
    def nixflow(self) -> NixFlow:
        nixflow: NixFlow = self.app.state.nixflow
        return nixflow

    async def write(self, fn: Any) -> Any:
        ctx = EventContext(correlation_id=uuid7(), actor_id=None, source="test")
        return await self.nixflow.writer.run(fn, ctx)

    async def user(
        self,
        role: str,
        *,
        email: str | None = None,
        name: str | None = None,
        category_ids: list[int] | None = None,
        can_approve: bool = False,
        password: str = PASSWORD,
    ) -> User:
        """Create a user with a bearer token."""
        email = email or f"{role}-{uuid7()[-12:]}@example.com"
        password_hash = auth.hash_password(password)

        def create(tx: Tx) -> tuple[int, str]:
            created = users.create_user(
                tx,
                email=email,
                name=name or role.title(),
                role=Role(role),
                password_hash=password_hash,
                category_ids=category_ids or [],
                can_approve=can_approve,
            )
            issued = auth.issue_token(tx, user_id=created["id"], kind="api", lifetime=None)
            return created["id"], issued.token

        user_id, token = await self.write(create)
        return User(user_id, email, token, {"Authorization": f"Bearer {token}"})

    async def settle(self, rounds: int = 50) -> None:
        """Deliver everything outstanding: drain the transport, run due jobs, until the log is quiet."""
        for _ in range(rounds):
            drain = getattr(self.nixflow.transport, "drain", None)
            if drain is not None:
                await drain()
            await self.nixflow.scheduler.run_due()
            if drain is not None:
                await drain()
            busy = await self.nixflow.db.read(_outstanding)
            if busy == 0:
                return
            import asyncio

            await asyncio.sleep(0.05)
        raise AssertionError("events still outstanding after settle()")

    async def events(self, **filters: Any) -> list[dict[str, Any]]:
        flt = event_log.EventFilter(**filters)
        records, _ = await self.nixflow.db.read(lambda conn: event_log.find_many(conn, flt, limit=1000))
        return [r.envelope() for r in reversed(records)]


def _outstanding(conn: Any) -> int:
    flt_statuses = (EventStatus.PENDING, EventStatus.PROCESSING)
    total = 0
    for status in flt_statuses:
        records, _ = event_log.find_many(conn, event_log.EventFilter(status=status), limit=1)
        total += len(records)
    return total


@dataclass
class User:
    id: int
    email: str
    token: str
    headers: dict[str, str]


async def start(settings: Settings, **kwargs: Any) -> AsyncIterator[Harness]:
    app = create_app(settings, **kwargs)
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=60) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield Harness(app, client)


@pytest.fixture
async def harness(settings: Settings) -> AsyncIterator[Harness]:
    """NixFlow in embedded mode on a fresh SQLite file."""
    async for h in start(settings):
        yield h


@pytest.fixture
async def admin(harness: Harness) -> User:
    return await harness.user("admin")


@pytest.fixture
async def agent(harness: Harness) -> User:
    return await harness.user("agent")


@pytest.fixture
async def requester(harness: Harness) -> User:
    return await harness.user("requester")


class ManualClock:
    """A clock that moves only when a test says so."""

    def __init__(self, start: Any = None) -> None:
        from datetime import UTC, datetime

        self.now = start or datetime(2030, 1, 7, 9, 0, tzinfo=UTC)

    def __call__(self) -> Any:
        return self.now

    def advance(self, **delta: float) -> Any:
        from datetime import timedelta

        self.now = self.now + timedelta(**delta)
        return self.now


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def timed_harness(settings: Settings, clock: ManualClock) -> AsyncIterator[Harness]:
    """NixFlow on a fresh SQLite file whose clock the test moves (`clock.advance(minutes=...)`)."""
    from nixflow.bootstrap import build

    async for h in start(settings, nixflow=build(settings, clock=clock)):
        yield h
