"""Passkey assertions and registrations a hostile client sends: each refused, nothing created (no session, no
passkey), the refusal logged without key material."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from tests.conftest import Harness, ManualClock, User
from tests.integration.test_passkeys import ORIGIN, register, sessions, sign_in_options
from tests.passkey_authenticator import Authenticator

from nixflow.config import Settings
from nixflow.services import passkey_assertions
from nixflow.services.passkeys import RelyingParty
from nixflow.store.tables import passkeys


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"base_url": ORIGIN})


async def refused(harness: Harness, credential: dict[str, Any]) -> str:
    """Send a sign-in assertion that must be refused; the reason logged for it."""
    answer = await harness.client.post("/api/auth/passkeys/login", json={"credential": credential})
    assert answer.status_code == 401, answer.text
    assert answer.json()["detail"] == "this passkey was not accepted"  # the same whatever the reason
    assert "nixflow_session" not in answer.cookies
    await harness.settle()
    failure = (await harness.events(type="user.passkey_sign_in_failed"))[-1]
    reason: str = failure["data"]["reason"]
    return reason


async def stored_passkeys(harness: Harness) -> int:
    return int(
        await harness.nixflow.db.read(
            lambda conn: conn.execute(select(func.count()).select_from(passkeys)).scalar_one()
        )
    )


async def test_a_replayed_assertion_is_refused(harness: Harness, agent: User) -> None:
    key = Authenticator(ORIGIN)
    await register(harness, agent, key)
    assertion = key.get(await sign_in_options(harness))
    assert (await harness.client.post("/api/auth/passkeys/login", json={"credential": assertion})).status_code == 200
    assert await refused(harness, assertion) == "unknown, used or expired challenge"
    assert await sessions(harness, agent.id) == 1


async def test_a_challenge_the_server_never_gave_is_refused(harness: Harness, agent: User) -> None:
    key = Authenticator(ORIGIN)
    await register(harness, agent, key)
    made_up = {"challenge": "bm90LWEtY2hhbGxlbmdlLXdlLWdhdmU", "rpId": "help.example.com"}
    assert await refused(harness, key.get(made_up)) == "unknown, used or expired challenge"
    assert await sessions(harness, agent.id) == 0


async def test_an_assertion_made_on_another_origin_is_refused(harness: Harness, agent: User) -> None:
    key = Authenticator(ORIGIN)
    await register(harness, agent, key)
    phished = key.get(await sign_in_options(harness), origin="https://help.example.com.evil.test")
    assert "origin" in (await refused(harness, phished)).lower()
    assert await sessions(harness, agent.id) == 0


async def test_a_sign_count_that_goes_backwards_is_refused(harness: Harness, agent: User) -> None:
    key = Authenticator(ORIGIN)
    await register(harness, agent, key)
    for _ in range(3):
        ok = await harness.client.post(
            "/api/auth/passkeys/login", json={"credential": key.get(await sign_in_options(harness))}
        )
        assert ok.status_code == 200, ok.text
    key.sign_count = 1  # a cloned authenticator, behind the original
    assert "sign count" in (await refused(harness, key.get(await sign_in_options(harness)))).lower()
    assert await sessions(harness, agent.id) == 3


async def test_another_users_handle_with_my_passkey_is_refused(harness: Harness, agent: User, admin: User) -> None:
    """A passkey signs in only its owner: an assertion naming the admin's handle with the agent's key is refused."""
    mine, theirs = Authenticator(ORIGIN), Authenticator(ORIGIN)
    await register(harness, agent, mine)
    await register(harness, admin, theirs)
    forged = mine.get(await sign_in_options(harness), user_handle=theirs.user_handle)
    assert await refused(harness, forged) == "the user handle is not the passkey's owner"
    assert await sessions(harness, admin.id) == 0 and await sessions(harness, agent.id) == 0


async def test_an_inactive_users_passkey_signs_nobody_in(harness: Harness, agent: User, admin: User) -> None:
    key = Authenticator(ORIGIN)
    await register(harness, agent, key)
    await harness.client.patch(f"/api/users/{agent.id}", json={"active": False}, headers=admin.headers)
    assert await refused(harness, key.get(await sign_in_options(harness))) == "inactive or system user"
    assert await sessions(harness, agent.id) == 0


async def test_malformed_assertions_are_refused_not_crashed(harness: Harness) -> None:
    options = await sign_in_options(harness)
    for credential in ({}, {"response": {"clientDataJSON": "!!"}}, {"id": 1, "response": []}):
        assert await refused(harness, credential) == "malformed response"
    stranger = Authenticator(ORIGIN, rp_id="help.example.com", user_handle=b"nobody")
    assert await refused(harness, stranger.get(options)) == "unknown passkey"


async def test_registrations_that_do_not_verify_store_nothing(harness: Harness, agent: User) -> None:
    url = "/api/auth/passkeys/register"

    async def attempt(**knobs: Any) -> int:
        options = (await harness.client.post(f"{url}/options", headers=agent.headers)).json()
        credential = Authenticator(ORIGIN).create(options, **knobs)
        answer = await harness.client.post(url, json={"name": "x", "credential": credential}, headers=agent.headers)
        return answer.status_code

    assert await attempt(origin="https://evil.test") == 400
    assert await attempt(verified=False) == 400  # user verification is required
    other = await harness.user("agent")
    options = (await harness.client.post(f"{url}/options", headers=other.headers)).json()
    theirs = {"name": "x", "credential": Authenticator(ORIGIN).create(options)}
    assert (await harness.client.post(url, json=theirs, headers=agent.headers)).status_code == 400  # not my challenge
    key = Authenticator(ORIGIN)
    options = (await harness.client.post(f"{url}/options", headers=agent.headers)).json()
    body = {"name": "x", "credential": key.create(options)}
    assert (await harness.client.post(url, json=body, headers=agent.headers)).status_code == 201
    assert (await harness.client.post(url, json=body, headers=agent.headers)).status_code == 400  # replayed
    assert await stored_passkeys(harness) == 1
    await harness.settle()
    assert len(await harness.events(type="user.passkey_added")) == 1


async def test_a_second_factor_takes_only_that_users_passkey(harness: Harness, agent: User, admin: User) -> None:
    """The seam the second-factor step plugs in: an assertion for a user whose password was checked."""
    mine, theirs = Authenticator(ORIGIN), Authenticator(ORIGIN)
    await register(harness, agent, mine)
    await register(harness, admin, theirs)
    rp = RelyingParty.of(harness.nixflow.settings)
    options = await harness.write(lambda tx: passkey_assertions.second_factor_options(tx, rp, user_id=agent.id))
    assert [c["id"] for c in options["allowCredentials"]] == [mine.id]
    verdict = await harness.write(
        lambda tx: passkey_assertions.verify_second_factor(tx, rp, user_id=agent.id, credential=theirs.get(options))
    )
    assert verdict.refusal == "another user's passkey"
    options = await harness.write(lambda tx: passkey_assertions.second_factor_options(tx, rp, user_id=agent.id))
    credential = mine.get(options)
    verdict = await harness.write(
        lambda tx: passkey_assertions.verify_second_factor(tx, rp, user_id=agent.id, credential=credential)
    )
    assert verdict.accepted and verdict.user_id == agent.id
    options = await harness.write(lambda tx: passkey_assertions.second_factor_options(tx, rp, user_id=agent.id))
    sign_in = await harness.client.post("/api/auth/passkeys/login", json={"credential": mine.get(options)})
    assert sign_in.status_code == 401  # a second factor's challenge is not a sign-in's


@pytest.fixture
def timed(clock: ManualClock, timed_harness: Harness) -> Harness:
    return timed_harness


async def test_an_expired_challenge_is_refused(timed: Harness, clock: ManualClock) -> None:
    agent = await timed.user("agent")
    key = Authenticator(ORIGIN)
    await register(timed, agent, key)
    options = await sign_in_options(timed)
    clock.advance(seconds=timed.nixflow.settings.passkey_timeout_seconds + 1)
    assert await refused(timed, key.get(options)) == "unknown, used or expired challenge"
