"""Your sessions: every session and API token with where and when it was used; ending one, all, or a user's."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import pytest
from tests.conftest import PASSWORD, Harness, ManualClock, User, make_settings, redis_url, start

from nixflow.bootstrap import build
from nixflow.config import Settings

FIREFOX = "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:126.0) Gecko/20100101 Firefox/126.0"
SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)


async def sign_in(harness: Harness, user: User, agent: str = FIREFOX, **headers: str) -> dict[str, str]:
    """Bearer headers of a new session, signed in from a browser (`agent`)."""
    response = await harness.client.post(
        "/api/auth/login",
        json={"email": user.email, "password": PASSWORD},
        headers={"User-Agent": agent, **headers},
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}", "User-Agent": agent}


async def listed(harness: Harness, headers: dict[str, str]) -> list[dict[str, Any]]:
    response = await harness.client.get("/api/auth/sessions", headers=headers)
    assert response.status_code == 200, response.text
    return list(response.json())


async def works(harness: Harness, headers: dict[str, str]) -> bool:
    status = (await harness.client.get("/api/auth/me", headers=headers)).status_code
    assert status in (200, 401)
    return status == 200


async def test_sessions_and_tokens_are_listed_with_where_and_when(harness: Harness, agent: User) -> None:
    here = await sign_in(harness, agent)
    await sign_in(harness, agent, agent=SAFARI)
    sessions = await listed(harness, here)

    current = [s for s in sessions if s["current"]]
    assert len(current) == 1 and sessions[0] is current[0]  # the one asking comes first
    me = current[0]
    assert me["kind"] == "session" and me["created_agent"] == me["last_agent"] == "Firefox on Linux"
    assert me["created_address"] == me["last_address"] == "127.0.0.1"
    assert me["last_used_at"] is not None and me["expires_at"] is not None
    others = sorted((s["kind"], s["created_agent"]) for s in sessions if not s["current"])
    assert others == [("api", None), ("session", "Safari on iOS")]  # the fixture's token was made from the shell
    assert all("token" not in key and "hash" not in key for s in sessions for key in s)


async def test_another_users_session_cannot_be_seen_or_ended(harness: Harness, agent: User, requester: User) -> None:
    theirs = await sign_in(harness, requester)
    [their_session] = [s for s in await listed(harness, theirs) if s["current"]]
    assert their_session["id"] not in {s["id"] for s in await listed(harness, agent.headers)}

    refused = await harness.client.delete(f"/api/auth/sessions/{their_session['id']}", headers=agent.headers)
    assert refused.status_code == 404
    assert await works(harness, theirs)


async def test_ending_one_session_works_at_once(harness: Harness, agent: User) -> None:
    here, laptop = await sign_in(harness, agent), await sign_in(harness, agent, agent=SAFARI)
    assert await works(harness, laptop)  # its credential is cached now: ending it must still be immediate
    [lost] = [s for s in await listed(harness, here) if s["created_agent"] == "Safari on iOS"]

    ended = await harness.client.delete(f"/api/auth/sessions/{lost['id']}", headers=here)
    assert ended.status_code == 204
    assert not await works(harness, laptop)
    assert await works(harness, here) and await works(harness, agent.headers)
    assert lost["id"] not in {s["id"] for s in await listed(harness, here)}
    again = await harness.client.delete(f"/api/auth/sessions/{lost['id']}", headers=here)
    assert again.status_code == 404


async def test_ending_all_others_keeps_this_one_and_says_how_many(harness: Harness, agent: User) -> None:
    here, laptop = await sign_in(harness, agent), await sign_in(harness, agent, agent=SAFARI)
    assert await works(harness, laptop) and await works(harness, agent.headers)

    ended = await harness.client.delete("/api/auth/sessions", headers=here)
    assert ended.status_code == 200, ended.text
    assert ended.json() == {"sessions_ended": 1, "api_tokens_revoked": 1}
    assert not await works(harness, laptop) and not await works(harness, agent.headers)
    assert [s["current"] for s in await listed(harness, here)] == [True]

    await harness.settle()
    [event] = await harness.events(type="user.sessions_ended")
    assert event["data"] == {
        "user_id": agent.id,
        "by_id": agent.id,
        "sessions_ended": 1,
        "api_tokens_revoked": 1,
    }
    assert agent.token not in str(event) and here["Authorization"][7:] not in str(event)


async def test_ending_all_including_this_one_signs_out_here_too(harness: Harness, agent: User) -> None:
    here = await sign_in(harness, agent)
    ended = await harness.client.delete("/api/auth/sessions", params={"keep_current": "false"}, headers=here)
    assert ended.status_code == 200 and ended.json() == {"sessions_ended": 1, "api_tokens_revoked": 1}
    assert 'nixflow_session=""' in ended.headers["set-cookie"]  # the browser forgets the cookie
    assert not await works(harness, here) and not await works(harness, agent.headers)


async def test_a_bad_keep_current_is_refused_and_ends_nothing(harness: Harness, agent: User) -> None:
    here = await sign_in(harness, agent)
    refused = await harness.client.delete("/api/auth/sessions", params={"keep_current": "maybe"}, headers=here)
    assert refused.status_code == 422 and "keep_current" in refused.text
    assert await works(harness, agent.headers)


async def test_an_admin_ends_every_session_of_a_user(harness: Harness, admin: User, agent: User) -> None:
    laptop = await sign_in(harness, agent, agent=SAFARI)
    assert await works(harness, laptop)
    seen = await harness.client.get(f"/api/users/{agent.id}/sessions", headers=admin.headers)
    assert seen.status_code == 200
    assert sorted(s["kind"] for s in seen.json()) == ["api", "session"]
    assert not any(s["current"] for s in seen.json())

    ended = await harness.client.delete(f"/api/users/{agent.id}/sessions", headers=admin.headers)
    assert ended.status_code == 200 and ended.json() == {"sessions_ended": 1, "api_tokens_revoked": 1}
    assert not await works(harness, laptop) and not await works(harness, agent.headers)
    assert await works(harness, admin.headers)
    assert (await harness.client.get(f"/api/users/{agent.id}/sessions", headers=admin.headers)).json() == []

    await harness.settle()
    [event] = await harness.events(type="user.sessions_ended")
    assert event["data"] == {"user_id": agent.id, "by_id": admin.id, "sessions_ended": 1, "api_tokens_revoked": 1}


async def test_an_unknown_user_is_404_for_admins(harness: Harness, admin: User) -> None:
    for method in ("GET", "DELETE"):
        response = await harness.client.request(method, "/api/users/999999/sessions", headers=admin.headers)
        assert response.status_code == 404, (method, response.text)


async def test_a_password_change_ends_the_other_sessions_not_this_one_nor_tokens(harness: Harness, agent: User) -> None:
    here, laptop = await sign_in(harness, agent), await sign_in(harness, agent, agent=SAFARI)
    changed = await harness.client.post(
        "/api/auth/password", json={"current_password": PASSWORD, "new_password": "another long one"}, headers=here
    )
    assert changed.status_code == 204
    assert not await works(harness, laptop)
    assert sorted(s["kind"] for s in await listed(harness, here)) == ["api", "session"]


@pytest.fixture
async def proxied(settings: Settings, clock: ManualClock) -> AsyncIterator[Harness]:
    """NixFlow behind a trusted proxy (so each request can name its client address), on a clock the test moves."""
    behind = settings.model_copy(update={"trust_proxy_headers": True})
    async for h in start(behind, nixflow=build(behind, clock=clock)):
        yield h


def when(session: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(session["last_used_at"])


async def test_last_use_is_written_at_most_once_a_minute(proxied: Harness, clock: ManualClock, agent: User) -> None:
    harness = proxied
    watcher = await sign_in(harness, agent, **{"X-Forwarded-For": "192.0.2.1"})

    async def token_seen() -> dict[str, Any]:
        return next(s for s in await listed(harness, watcher) if s["kind"] == "api")

    def from_address(address: str) -> dict[str, str]:
        return {**agent.headers, "X-Forwarded-For": address, "User-Agent": "curl/8.5.0"}

    started = clock.now
    assert (await harness.client.get("/api/tickets", headers=from_address("198.51.100.7"))).status_code == 200
    first = await token_seen()
    assert first["last_address"] == "198.51.100.7" and first["last_agent"] == "curl" and when(first) == started

    clock.advance(seconds=59)
    assert (await harness.client.get("/api/tickets", headers=from_address("203.0.113.9"))).status_code == 200
    assert await token_seen() == first  # the second use within the minute wrote nothing

    clock.advance(seconds=1)
    assert (await harness.client.get("/api/tickets", headers=from_address("203.0.113.9"))).status_code == 200
    later = await token_seen()
    assert later["last_address"] == "203.0.113.9" and when(later) == clock.now


async def test_a_page_visit_counts_as_a_use_of_the_session(proxied: Harness, agent: User) -> None:
    await sign_in(proxied, agent, **{"X-Forwarded-For": "192.0.2.1"})  # the client keeps its cookie
    page = await proxied.client.get("/account", headers={"X-Forwarded-For": "198.51.100.20", "User-Agent": SAFARI})
    assert page.status_code == 200 and "Your sessions" in page.text
    [session] = [s for s in await listed(proxied, agent.headers) if s["kind"] == "session"]
    assert session["created_address"] == "192.0.2.1" and session["created_agent"] == "Firefox on Linux"
    assert session["last_address"] == "198.51.100.20" and session["last_agent"] == "Safari on iOS"


@pytest.fixture
async def two_processes(postgres_database: str, redis_prefix: str) -> AsyncIterator[tuple[Harness, Harness]]:
    """Two API processes of one scale-out deployment (one PostgreSQL database, one Redis)."""
    shared = make_settings(postgres_database, redis_url=redis_url(), redis_prefix=redis_prefix)
    async for first in start(shared):
        async for second in start(shared):
            yield first, second


@pytest.mark.postgres
@pytest.mark.redis
async def test_an_ended_session_stops_at_once_in_every_process(two_processes: tuple[Harness, Harness]) -> None:
    here, there = two_processes
    agent = await here.user("agent")
    for _ in range(3):  # each round: the credential is cached in the other process, then ended here
        laptop = await sign_in(here, agent, agent=SAFARI)
        assert await works(there, laptop)
        [lost] = [s for s in await listed(here, agent.headers) if s["created_agent"] == "Safari on iOS"]
        assert (await here.client.delete(f"/api/auth/sessions/{lost['id']}", headers=agent.headers)).status_code == 204
        assert not await works(there, laptop)
    assert await works(there, agent.headers)
    assert (await here.client.delete("/api/auth/sessions", headers=await sign_in(here, agent))).status_code == 200
    assert not await works(there, agent.headers)


async def test_a_persons_export_says_where_their_sessions_were_used(harness: Harness, admin: User, agent: User) -> None:
    here = await sign_in(harness, agent)
    assert await works(harness, here)
    exported = await harness.client.get(f"/api/users/{agent.id}/export", headers=admin.headers)
    [session] = [t for t in exported.json()["sessions_and_tokens"] if t["kind"] == "session"]
    assert session["created_address"] == session["last_address"] == "127.0.0.1"
    assert session["last_agent"] == "Firefox on Linux" and session["last_used_at"] is not None
