"""Attacks on the second factor: guessing codes, using a recovery code or a code twice (also in parallel), and a
pending sign-in's token used as if it were a session."""

from __future__ import annotations

import asyncio
import json
import re

import httpx
from tests.conftest import PASSWORD, Harness, ManualClock
from tests.mfa_helpers import code_at, enrol, sign_in, verify

MFA_PREFIX = "/api/auth/mfa"
# What answers 200 to nobody at all: the pending token must get no more than these.
PUBLIC = {"/api/health", "/api/docs", "/api/auth/passkeys/login/options", "/api/auth/oidc/providers"}


async def test_guessing_codes_is_rate_limited_like_sign_in(timed_harness: Harness, clock: ManualClock) -> None:
    h = timed_harness
    agent = await h.user("agent")
    secret, _ = await enrol(h, agent, clock.now)
    token = (await sign_in(h, agent))["mfa_token"]
    limit = h.nixflow.settings.login_max_failures_per_email
    guesses = [f"{n:06d}" for n in range(limit)]
    assert [(await verify(h, token, g)).status_code for g in guesses] == [401] * limit
    refused = await verify(h, token, code_at(secret, clock.now))
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0  # even the right code, now
    clock.advance(seconds=h.nixflow.settings.login_window_seconds + 1)
    assert (await verify(h, token, code_at(secret, clock.now))).status_code == 401  # the sign-in expired meanwhile
    await h.settle()
    failures = await h.events(type="user.mfa_challenge_failed")
    assert [f["data"]["reason"] for f in failures][-1] == "too many attempts"
    log = json.dumps(await h.events(category="user"))
    assert not any(g in log for g in guesses if g != "000000") and secret not in log


async def test_a_recovery_code_used_twice_at_once_works_once(timed_harness: Harness, clock: ManualClock) -> None:
    h = timed_harness
    agent = await h.user("agent")
    _, codes = await enrol(h, agent, clock.now)
    tokens = [(await sign_in(h, agent))["mfa_token"] for _ in range(2)]
    results = await asyncio.gather(*(verify(h, t, codes[3]) for t in tokens))
    h.client.cookies.clear()
    assert sorted(r.status_code for r in results) == [200, 401]
    later = await verify(h, (await sign_in(h, agent))["mfa_token"], codes[3])
    assert later.status_code == 401


async def test_a_code_replayed_at_once_works_once(timed_harness: Harness, clock: ManualClock) -> None:
    h = timed_harness
    agent = await h.user("agent")
    secret, _ = await enrol(h, agent, clock.now)
    tokens = [(await sign_in(h, agent))["mfa_token"] for _ in range(3)]
    code = code_at(secret, clock.now)
    results = await asyncio.gather(*(verify(h, t, code) for t in tokens))
    h.client.cookies.clear()
    assert sorted(r.status_code for r in results) == [200, 401, 401]


async def test_a_pending_sign_in_is_no_credential_anywhere_else(timed_harness: Harness, clock: ManualClock) -> None:
    """Every route outside /api/auth/mfa answers a pending sign-in's token (bearer or cookie) exactly as it
    answers no credential at all."""
    h = timed_harness
    agent = await h.user("agent")
    await enrol(h, agent, clock.now)
    token = (await sign_in(h, agent))["mfa_token"]
    routes = [
        (method.upper(), re.sub(r"\{[^}]+\}", "1", path))
        for path, operations in h.app.openapi()["paths"].items()
        if path.startswith("/api") and not path.startswith(MFA_PREFIX)
        for method in operations
    ]
    assert len(routes) > 100
    for method, path in routes:
        bare = await h.client.request(method, path, json={})
        bearer = await h.client.request(method, path, json={}, headers={"Authorization": f"Bearer {token}"})
        h.client.cookies.set("nixflow_mfa", token)
        cookie = await h.client.request(method, path, json={})
        h.client.cookies.clear()
        assert bare.status_code == bearer.status_code == cookie.status_code, (method, path)
        assert bearer.status_code != 200 or path in PUBLIC, (method, path)


async def test_every_cookie_of_the_second_step_is_secure_over_https(timed_harness: Harness, clock: ManualClock) -> None:
    h = timed_harness
    admin, agent = await h.user("admin"), await h.user("agent")
    secret, _ = await enrol(h, agent, clock.now)
    policy = {"required_roles": [], "remember_device_days": 7}
    await h.client.put("/api/auth/mfa/policy", json=policy, headers=admin.headers)
    transport = httpx.ASGITransport(app=h.app)
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as browser:
        login = await browser.post("/api/auth/login", json={"email": agent.email, "password": PASSWORD})
        code = {"code": code_at(secret, clock.now), "remember_device": True}
        verified = await browser.post("/api/auth/mfa/verify", json=code)
    assert verified.status_code == 200
    cookies = login.headers.get_list("set-cookie") + verified.headers.get_list("set-cookie")
    names = {c.split("=", 1)[0] for c in cookies}
    assert {"nixflow_mfa", "nixflow_session", "nixflow_csrf", "nixflow_mfa_device"} <= names
    assert all("; secure" in c.lower() for c in cookies), cookies
    assert any(c.startswith('nixflow_mfa="";') for c in verified.headers.get_list("set-cookie"))  # the step is done
