"""Shared fixtures: a real NixFlow on a real SQLite file (and PostgreSQL/Redis where a test asks)."""

from __future__ import annotations

import functools
import os
import secrets
import shutil
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import httpx
import pytest
import redis
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.pool import NullPool

from nixflow.app import create_app
from nixflow.bootstrap import NixFlow
from nixflow.config import Settings, load_settings
from nixflow.crypto import keyring
from nixflow.domain.envelope import EventContext
from nixflow.domain.values import EventStatus, Role
from nixflow.ids import uuid7
from nixflow.services import auth, users
from nixflow.store import event_log
from nixflow.store.db import Tx, make_engine, sync_url
from nixflow.store.migrate import upgrade
from tests.smtp_server import SmtpServer, smtp_server

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


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file that each test copies: migrating every revision costs a test ~0.2-0.4 s, a copy ~1 ms.
    The app still runs its migrations at startup (a no-op at head), so a test sees what a real start does."""
    path = tmp_path_factory.mktemp("sqlite-template") / "nixflow.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    shutil.copyfile(sqlite_template, tmp_path / "nixflow.db")
    return f"sqlite+aiosqlite:///{tmp_path / 'nixflow.db'}"


def postgres_url() -> str | None:
    return os.environ.get("NIXFLOW_TEST_POSTGRES_URL")


def redis_url() -> str | None:
    return os.environ.get("NIXFLOW_TEST_REDIS_URL")


def not_running(server: str) -> NoReturn:
    """Skip a test whose server was not started; under CI=true a server that is not there fails the test instead,
    so a run that lost PostgreSQL, Redis or Dovecot cannot pass by skipping what needs them."""
    why = f"{server} not running: start it with `source scripts/services.sh start`"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{why} (CI=true: a missing server is a failure, not a skip)", pytrace=False)
    pytest.skip(why)


# One template per test session (several sessions may share a server).
TEMPLATE = f"nixflow_test_template_{os.getpid()}"


def _admin_engine(url: str) -> Engine:
    return create_engine(sync_url(url), isolation_level="AUTOCOMMIT", poolclass=NullPool)


def _with_database(url: str, name: str) -> str:
    return url.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    """A migrated PostgreSQL database that each test copies (CREATE DATABASE ... TEMPLATE is fast)."""
    url = postgres_url()
    if url is None:
        not_running("PostgreSQL")
    admin = _admin_engine(url)
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {TEMPLATE} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {TEMPLATE}"))
    template = make_engine(_with_database(url, TEMPLATE))
    upgrade(template)
    template.dispose()
    admin.dispose()
    yield url
    admin = _admin_engine(url)
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {TEMPLATE} WITH (FORCE)"))
    admin.dispose()


@pytest.fixture
def postgres_database(postgres_template: str) -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for one test."""
    # From `secrets`, not uuid7's `random` bits: hypothesis seeds `random` the same way in every xdist worker, and
    # two workers' schemathesis tests once drew the same name ("database ... already exists").
    name = f"nixflow_test_{secrets.token_hex(8)}"
    admin = _admin_engine(postgres_template)
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}"))
    yield _with_database(postgres_template, name)
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A Redis key prefix of this test's own; its keys are deleted afterwards."""
    url = redis_url()
    if url is None:
        not_running("Redis")
    prefix = f"nixflow-test-{secrets.token_hex(6)}"  # not `random` (above)
    yield prefix
    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter(f"{prefix}:*"))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture(params=["embedded", pytest.param("scaleout", marks=[pytest.mark.postgres, pytest.mark.redis])])
def mode(request: pytest.FixtureRequest) -> str:
    """Each test that uses NixFlow runs in embedded mode (SQLite, in-process bus) and scale-out mode
    (PostgreSQL, Redis Streams): the same behaviour is proven on both."""
    return str(request.param)


@pytest.fixture
def database_url(mode: str, request: pytest.FixtureRequest, sqlite_url: str) -> str:
    if mode == "embedded":
        return sqlite_url
    return str(request.getfixturevalue("postgres_database"))


@pytest.fixture
def settings(mode: str, database_url: str, request: pytest.FixtureRequest) -> Settings:
    if mode == "embedded":
        return make_settings(database_url)
    prefix = request.getfixturevalue("redis_prefix")
    return make_settings(database_url, redis_url=redis_url(), redis_prefix=prefix)


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
        password_hash = _password_hash(password)

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
            issued = auth.issue_token(
                tx, keys=keyring(self.nixflow.settings), user_id=created["id"], kind="api", lifetime=None
            )
            return created["id"], issued.token

        user_id, token = await self.write(create)
        return User(user_id, email, token, {"Authorization": f"Bearer {token}"})

    async def settle(self, rounds: int = 200) -> None:
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


@functools.cache
def _password_hash(password: str) -> str:
    """One argon2 hash per password for the whole session: hashing costs ~0.1-0.6 s, and tests make thousands of
    users. Each user still has a real hash that sign-in verifies."""
    return auth.hash_password(password)


def _outstanding(conn: Any) -> int:
    flt_statuses = (EventStatus.PENDING, EventStatus.PROCESSING, EventStatus.RETRYING)
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
def smtp() -> Iterator[SmtpServer]:
    """A real SMTP server (aiosmtpd) in the test process, keeping what it accepts."""
    with smtp_server() as server:
        yield server


def mailing(settings: Settings, smtp: SmtpServer, *, delay: float) -> Settings:
    """`settings` sending notification mail to `smtp` from help@example.com, held `delay` seconds."""
    return settings.model_copy(
        update={
            "smtp_url": smtp.url,
            "mail_from": "NixFlow <help@example.com>",
            "base_url": "https://help.example.com",
            "notify_delay_seconds": delay,
            "tick_seconds": 0.1,
        }
    )


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def timed_harness(settings: Settings, clock: ManualClock) -> AsyncIterator[Harness]:
    """NixFlow on a fresh SQLite file whose clock the test moves (`clock.advance(minutes=...)`)."""
    from nixflow.bootstrap import build

    async for h in start(settings, nixflow=build(settings, clock=clock)):
        yield h
