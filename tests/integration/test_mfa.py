"""Second factor through the API: enrolment, the second step of sign-in, remembered devices, policy and reset."""

from __future__ import annotations

import json

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response
from tests.conftest import PASSWORD, Harness, ManualClock
from tests.mfa_helpers import code_at, enrol, sign_in, verify

from nixflow.api.routes.auth import start_session
from nixflow.store.tables import mfa_recovery_codes, mfa_totp


async def test_enrolment_gives_a_qr_code_a_key_and_ten_recovery_codes_stored_only_sealed(
    timed_harness: Harness, clock: ManualClock
) -> None:
    h = timed_harness
    agent = await h.user("agent")
    started = await h.client.post("/api/auth/mfa/totp", headers=agent.headers)
    body = started.json()
    assert body["otpauth_uri"].startswith("otpauth://totp/NixFlow:") and body["secret"] in body["otpauth_uri"]
    assert body["qr_svg"].startswith("<svg") and "<image" not in body["qr_svg"] and "href" not in body["qr_svg"]
    wrong = await h.client.post("/api/auth/mfa/totp/confirm", json={"code": "000000"}, headers=agent.headers)
    assert wrong.status_code == 403
    assert (await h.client.get("/api/auth/mfa", headers=agent.headers)).json()["enrolled"] is False

    right = code_at(body["secret"], clock.now)
    confirmed = await h.client.post("/api/auth/mfa/totp/confirm", json={"code": right}, headers=agent.headers)
    codes = confirmed.json()["recovery_codes"]
    assert confirmed.status_code == 200 and len(set(codes)) == 10 and confirmed.json()["session"] is None
    status = (await h.client.get("/api/auth/mfa", headers=agent.headers)).json()
    assert status == {"enrolled": True, "required": False, "recovery_codes_left": 10, "remember_device_days": 0}

    def stored(conn: object) -> tuple[str, list[str]]:
        sealed = conn.execute(select(mfa_totp.c.secret_sealed)).scalar_one()  # type: ignore[attr-defined]
        hashes = conn.execute(select(mfa_recovery_codes.c.code_hash)).scalars().all()  # type: ignore[attr-defined]
        return sealed, list(hashes)

    sealed, hashes = await h.nixflow.db.read(stored)
    assert body["secret"] not in sealed and len(hashes) == 10
    assert not {c.replace("-", "") for c in codes} & set(hashes)
    await h.settle()
    log = json.dumps(await h.events(category="user"))
    assert "user.mfa_enrolled" in log and "user.mfa_challenge_failed" in log
    assert body["secret"] not in log and right not in log and not any(c in log for c in codes)
    again = await h.client.post("/api/auth/mfa/totp", headers=agent.headers)
    assert again.status_code == 409  # one factor at a time: turn it off first


async def test_sign_in_asks_for_a_code_and_the_pending_token_opens_nothing_else(
    timed_harness: Harness, clock: ManualClock
) -> None:
    h = timed_harness
    agent = await h.user("agent")
    secret, _ = await enrol(h, agent, clock.now)
    response = await h.client.post("/api/auth/login", json={"email": agent.email, "password": PASSWORD})
    body = response.json()
    assert body["mfa_required"] is True and body["token"] is None and body["user"] is None
    assert "nixflow_session" not in response.cookies and "httponly" in response.headers["set-cookie"].lower()
    h.client.cookies.clear()
    pending = {"Authorization": f"Bearer {body['mfa_token']}"}
    assert (await h.client.get("/api/auth/me", headers=pending)).status_code == 401
    assert (await h.client.get("/api/tickets", headers=pending)).status_code == 401
    assert (await h.client.post("/api/auth/mfa/totp", headers=pending)).status_code == 401  # not an enrolment

    wrong = await verify(h, body["mfa_token"], "123456")
    assert wrong.status_code == 401
    done = await verify(h, body["mfa_token"], code_at(secret, clock.now))
    assert done.status_code == 200 and done.json()["user"]["id"] == agent.id
    me = await h.client.get("/api/auth/me", headers={"Authorization": f"Bearer {done.json()['token']}"})
    assert me.json()["email"] == agent.email
    h.client.cookies.clear()
    assert (await verify(h, body["mfa_token"], code_at(secret, clock.now, 1))).status_code == 401  # used up


async def test_a_code_is_accepted_once_and_a_recovery_code_once(timed_harness: Harness, clock: ManualClock) -> None:
    h = timed_harness
    agent = await h.user("agent")
    secret, codes = await enrol(h, agent, clock.now)
    assert (await verify(h, (await sign_in(h, agent))["mfa_token"], code_at(secret, clock.now))).status_code == 200
    h.client.cookies.clear()
    replayed = await verify(h, (await sign_in(h, agent))["mfa_token"], code_at(secret, clock.now))
    assert replayed.status_code == 401
    older = await verify(h, (await sign_in(h, agent))["mfa_token"], code_at(secret, clock.now, -1))
    assert older.status_code == 401  # the enrolment's own code, and anything before the last accepted step

    typed = codes[0].upper().replace("-", " ")  # read off paper: any case, a space for the dash
    recovered = await verify(h, (await sign_in(h, agent))["mfa_token"], typed)
    assert recovered.status_code == 200
    h.client.cookies.clear()
    twice = await verify(h, (await sign_in(h, agent))["mfa_token"], codes[0])
    assert twice.status_code == 401
    await h.settle()
    used = await h.events(type="user.mfa_recovery_used")
    assert [e["data"] for e in used] == [{"user_id": agent.id, "remaining": 9}]
    reasons = [e["data"]["reason"] for e in await h.events(type="user.mfa_challenge_failed")]
    assert reasons == ["code already used", "code already used", "wrong or used recovery code"]


async def test_a_role_that_requires_a_factor_enrols_before_anything_else(
    timed_harness: Harness, clock: ManualClock
) -> None:
    h = timed_harness
    admin, agent, requester = await h.user("admin"), await h.user("agent"), await h.user("requester")
    policy = {"required_roles": ["agent"], "remember_device_days": 0}
    assert (await h.client.put("/api/auth/mfa/policy", json=policy, headers=admin.headers)).json() == policy
    assert (await sign_in(h, requester))["token"] is not None  # other roles are not asked

    body = await sign_in(h, agent)
    assert body["mfa_enrolment_required"] is True and body["mfa_required"] is False and body["token"] is None
    pending = {"Authorization": f"Bearer {body['mfa_token']}"}
    assert (await h.client.get("/api/tickets", headers=pending)).status_code == 401
    assert (await verify(h, body["mfa_token"], "123456")).status_code == 401  # nothing to verify yet
    assert (await h.client.get("/api/auth/mfa", headers=pending)).json()["required"] is True
    secret = (await h.client.post("/api/auth/mfa/totp", headers=pending)).json()["secret"]
    confirmed = await h.client.post(
        "/api/auth/mfa/totp/confirm", json={"code": code_at(secret, clock.now)}, headers=pending
    )
    session = confirmed.json()["session"]
    assert len(confirmed.json()["recovery_codes"]) == 10 and session["user"]["id"] == agent.id
    assert (await h.client.get("/api/tickets", headers={"Authorization": f"Bearer {session['token']}"})).is_success
    h.client.cookies.clear()
    assert (await h.client.get("/api/auth/mfa", headers=pending)).status_code == 401  # the enrolment ended it

    off = await h.client.post("/api/auth/mfa/totp/disable", json={"password": PASSWORD}, headers=agent.headers)
    assert off.status_code == 409  # the role requires it
    assert (await sign_in(h, agent))["mfa_required"] is True


async def test_a_pending_sign_in_expires(timed_harness: Harness, clock: ManualClock) -> None:
    h = timed_harness
    agent = await h.user("agent")
    secret, _ = await enrol(h, agent, clock.now)
    token = (await sign_in(h, agent))["mfa_token"]
    clock.advance(minutes=11)
    assert (await verify(h, token, code_at(secret, clock.now))).status_code == 401


async def test_a_remembered_device_is_spared_the_code_until_the_password_changes(
    timed_harness: Harness, clock: ManualClock
) -> None:
    h = timed_harness
    admin, agent = await h.user("admin"), await h.user("agent")
    secret, _ = await enrol(h, agent, clock.now)
    not_offered = await verify(
        h, (await sign_in(h, agent))["mfa_token"], code_at(secret, clock.now), remember_device=True
    )
    assert "nixflow_mfa_device" not in not_offered.cookies  # off by default
    await h.client.put(
        "/api/auth/mfa/policy", json={"required_roles": [], "remember_device_days": 30}, headers=admin.headers
    )
    h.client.cookies.clear()
    remembered = await verify(
        h, (await sign_in(h, agent))["mfa_token"], code_at(secret, clock.now, 1), remember_device=True
    )
    device = remembered.cookies["nixflow_mfa_device"]
    assert "httponly" in str(remembered.headers.get_list("set-cookie")).lower()
    h.client.cookies.clear()

    async def with_device(password: str = PASSWORD) -> dict[str, object]:
        h.client.cookies.set("nixflow_mfa_device", device)
        response = await h.client.post("/api/auth/login", json={"email": agent.email, "password": password})
        h.client.cookies.clear()
        body: dict[str, object] = response.json()
        return body

    assert (await with_device())["token"] is not None
    other = await h.user("agent")
    h.client.cookies.set("nixflow_mfa_device", device)
    await enrol(h, other, clock.now)
    assert (await sign_in(h, other))["mfa_required"] is True  # bound to its user
    clock.advance(days=31)
    assert (await with_device())["mfa_required"] is True  # expired
    clock.advance(days=-31)
    changed = await h.client.post(
        "/api/auth/password",
        json={"current_password": PASSWORD, "new_password": "another long password"},
        headers=agent.headers,
    )
    assert changed.status_code == 204
    assert (await with_device("another long password"))["mfa_required"] is True


async def test_disable_with_a_code_or_the_password_and_an_admins_reset(
    timed_harness: Harness, clock: ManualClock
) -> None:
    h = timed_harness
    admin, agent = await h.user("admin"), await h.user("agent")
    secret, _ = await enrol(h, agent, clock.now)
    for neither_or_both in ({}, {"code": code_at(secret, clock.now), "password": PASSWORD}):
        refused = await h.client.post("/api/auth/mfa/totp/disable", json=neither_or_both, headers=agent.headers)
        assert refused.status_code == 422
    wrong = await h.client.post("/api/auth/mfa/totp/disable", json={"password": "not it"}, headers=agent.headers)
    assert wrong.status_code == 403
    # Six characters as sent (the schema's minLength), five once the space is dropped: a wrong code, not a 422.
    short = await h.client.post("/api/auth/mfa/totp/disable", json={"code": "\r1234/"}, headers=agent.headers)
    assert short.status_code == 403, short.text
    off = await h.client.post(
        "/api/auth/mfa/totp/disable", json={"code": code_at(secret, clock.now)}, headers=agent.headers
    )
    assert off.status_code == 204
    assert (await sign_in(h, agent))["token"] is not None

    await enrol(h, agent, clock.now)  # a new secret: its codes are new
    assert (await h.client.delete(f"/api/users/{agent.id}/mfa", headers=agent.headers)).status_code == 403
    assert (await h.client.delete(f"/api/users/{agent.id}/mfa", headers=admin.headers)).status_code == 204
    assert (await h.client.delete("/api/users/999999/mfa", headers=admin.headers)).status_code == 404
    assert (await sign_in(h, agent))["token"] is not None
    await h.settle()
    assert [e["data"]["by_id"] for e in await h.events(type="user.mfa_reset")] == [admin.id]
    assert [e["data"]["by_id"] for e in await h.events(type="user.mfa_disabled")] == [agent.id]


async def test_policy_is_admins_and_checked(harness: Harness) -> None:
    admin, agent = await harness.user("admin"), await harness.user("agent")
    assert (await harness.client.get("/api/auth/mfa/policy", headers=agent.headers)).status_code == 403
    for bad in (
        {"required_roles": ["system"], "remember_device_days": 0},
        {"required_roles": ["agent"], "remember_device_days": 91},
        {"required_roles": "agent"},
        {"required_roles": [], "remember_device_days": False},  # strict JSON types: a boolean is not 0
    ):
        response = await harness.client.put("/api/auth/mfa/policy", json=bad, headers=admin.headers)
        assert response.status_code == 422, bad
    assert (await harness.client.get("/api/auth/mfa/policy", headers=admin.headers)).json() == {
        "required_roles": [],
        "remember_device_days": 0,
    }
    # A JSON integer may be written 23.0 (the schema says integer, not int64 text).
    policy = await harness.client.put(
        "/api/auth/mfa/policy", json={"required_roles": [], "remember_device_days": 23.0}, headers=admin.headers
    )
    assert policy.status_code == 200 and policy.json()["remember_device_days"] == 23, policy.text


async def test_every_way_of_signing_in_but_a_passkey_owes_the_second_step(
    timed_harness: Harness, clock: ManualClock
) -> None:
    """`start_session`, the seam single sign-on and passkeys call: a passkey is itself a second factor."""
    h = timed_harness
    agent = await h.user("agent")
    await enrol(h, agent, clock.now)
    scope = {"type": "http", "method": "GET", "path": "/", "headers": [], "scheme": "http", "client": ("127.0.0.1", 1)}
    for method, owes in (("oidc", True), ("saml", True), ("ldap", True), ("password", True), ("passkey", False)):
        response = Response()
        signed = await start_session(h.nixflow, Request(scope), response, user_id=agent.id, method=method)
        assert signed.mfa_required is owes and (signed.token is None) is owes, method
        cookie = "nixflow_mfa" if owes else "nixflow_session"
        assert cookie in response.headers["set-cookie"], method
