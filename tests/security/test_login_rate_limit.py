"""Password guessing: per-account and per-address limits, 429 with Retry-After, every refusal logged."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from tests.conftest import PASSWORD, Harness, make_settings, start

from nixflow.bootstrap import build
from nixflow.config import Settings


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def limited(settings: Settings, clock: Clock) -> AsyncIterator[Harness]:
    async for h in start(settings, nixflow=build(settings, clock=clock)):
        yield h


def client_at(harness: Harness, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=harness.app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def attempt(client: httpx.AsyncClient, email: str, password: str, **headers: str) -> httpx.Response:
    return await client.post("/api/auth/login", json={"email": email, "password": password}, headers=headers)


async def test_five_wrong_passwords_lock_the_account_for_the_window(limited: Harness, clock: Clock) -> None:
    victim = await limited.user("agent")
    bystander = await limited.user("requester")
    for _ in range(5):
        assert (await attempt(limited.client, victim.email, "guess-guess")).status_code == 401
    locked = await attempt(limited.client, victim.email, PASSWORD)  # even the right password waits
    assert locked.status_code == 429
    assert locked.headers["content-type"].startswith("application/problem+json")
    assert 0 < int(locked.headers["retry-after"]) <= 900
    assert "nixflow_session" not in locked.cookies
    # Another account is not blocked by the victim's lock.
    assert (await attempt(limited.client, bystander.email, PASSWORD)).status_code == 200

    clock.now += timedelta(seconds=int(locked.headers["retry-after"]))
    assert (await attempt(limited.client, victim.email, PASSWORD)).status_code == 200

    await limited.settle()
    failures = await limited.events(type="user.login_failed")
    assert [f["data"]["reason"] for f in failures] == ["wrong password"] * 5 + ["too many attempts"]
    assert all(PASSWORD not in str(f) and "guess-guess" not in str(f) for f in failures)


async def test_the_lock_counts_emails_case_insensitively(limited: Harness) -> None:
    victim = await limited.user("agent")
    for i in range(5):
        email = victim.email.upper() if i % 2 else f"  {victim.email}"
        assert (await attempt(limited.client, email, "guess-guess")).status_code == 401
    assert (await attempt(limited.client, victim.email.title(), PASSWORD)).status_code == 429


async def test_a_successful_login_forgets_earlier_failures(limited: Harness) -> None:
    user = await limited.user("agent")
    for _ in range(4):
        assert (await attempt(limited.client, user.email, "typo-typo")).status_code == 401
    assert (await attempt(limited.client, user.email, PASSWORD)).status_code == 200
    for _ in range(4):
        assert (await attempt(limited.client, user.email, "typo-typo")).status_code == 401
    assert (await attempt(limited.client, user.email, PASSWORD)).status_code == 200


async def test_twenty_failures_from_one_address_block_that_address_only(limited: Harness) -> None:
    user = await limited.user("agent")
    async with client_at(limited, "203.0.113.7") as attacker, client_at(limited, "198.51.100.1") as elsewhere:
        for i in range(20):
            assert (await attempt(attacker, f"spray{i}@example.com", "Winter2030!")).status_code == 401
        blocked = await attempt(attacker, user.email, PASSWORD)
        assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) > 0
        # Spoofed forwarding headers do not move the attacker elsewhere: proxies are not trusted by default.
        spoofed = await attempt(attacker, user.email, PASSWORD, **{"X-Forwarded-For": "192.0.2.55"})
        assert spoofed.status_code == 429
        assert (await attempt(elsewhere, user.email, PASSWORD)).status_code == 200


@pytest.fixture
async def behind_proxy(sqlite_url: str, clock: Clock) -> AsyncIterator[Harness]:
    settings = make_settings(sqlite_url, trust_proxy_headers=True, login_max_failures_per_address=3)
    async for h in start(settings, nixflow=build(settings, clock=clock)):
        yield h


async def test_behind_a_trusted_proxy_the_forwarded_address_is_limited(behind_proxy: Harness) -> None:
    user = await behind_proxy.user("agent")
    for i in range(3):
        forwarded = {"X-Forwarded-For": "192.0.2.9"}
        response = await attempt(behind_proxy.client, f"x{i}@example.com", "nope-nope", **forwarded)
        assert response.status_code == 401
    blocked = await attempt(behind_proxy.client, user.email, PASSWORD, **{"X-Forwarded-For": "192.0.2.9"})
    assert blocked.status_code == 429
    ok = await attempt(behind_proxy.client, user.email, PASSWORD, **{"X-Forwarded-For": "192.0.2.10"})
    assert ok.status_code == 200
