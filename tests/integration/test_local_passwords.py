"""Local passwords turned off per role, in both modes: a refused role's password sign-in and reset are refused with
a clear message, the break-glass admins keep theirs, and at least one admin always keeps a local login."""

from __future__ import annotations

from typing import Any

import httpx
from tests.conftest import PASSWORD, Harness, User
from tests.integration.test_password_reset import NEW_PASSWORD, ask, confirm, desk, mails, token_in  # noqa: F401
from tests.ldap_directory import USER_PASSWORD, Directory, directory  # noqa: F401
from tests.org_helpers import ok
from tests.smtp_server import SmtpServer

PATH = "/api/auth/local-passwords"


async def login(h: Harness, email: str, password: str = PASSWORD) -> httpx.Response:
    return await h.client.post("/api/auth/login", json={"email": email, "password": password})


async def put(h: Harness, by: User, **roles: bool) -> httpx.Response:
    return await h.client.put(PATH, json=roles, headers=by.headers)


async def mark(h: Harness, admin: User, user: User) -> httpx.Response:
    return await h.client.put(f"{PATH}/break-glass/{user.id}", headers=admin.headers)


def refused(response: httpx.Response, status: int, says: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert says in response.json()["detail"], response.json()


async def test_agents_off_refuses_an_agents_password_and_lets_the_break_glass_admin_in(
    harness: Harness, admin: User, agent: User, requester: User
) -> None:
    h = harness
    other_admin = await h.user("admin")
    assert await ok(await h.client.get(PATH, headers=admin.headers)) == {
        "admin": True,
        "agent": True,
        "requester": True,
        "break_glass_ids": [],
    }
    # Admins off with nobody to keep a local login: refused, nothing changes.
    refused(await put(h, admin, agent=False, admin=False), 409, "break-glass")
    assert (await ok(await h.client.get(PATH, headers=admin.headers)))["agent"] is True

    assert (await ok(await mark(h, admin, admin)))["break_glass_ids"] == [admin.id]
    assert await ok(await put(h, admin, agent=False, admin=False)) == {
        "admin": False,
        "agent": False,
        "requester": True,
        "break_glass_ids": [admin.id],
    }
    refused(await login(h, agent.email), 403, "local passwords are turned off for agents")
    refused(await login(h, other_admin.email), 403, "local passwords are turned off for admins")
    refused(await login(h, agent.email, "not the password"), 401, "email or password is wrong")  # no role leaks
    assert (await ok(await login(h, admin.email)))["user"]["id"] == admin.id
    assert (await ok(await login(h, requester.email)))["user"]["id"] == requester.id
    assert (await h.client.get("/api/tickets", headers=agent.headers)).status_code == 200  # API tokens stay

    await h.settle()
    reasons = [(e["data"]["email"], e["data"]["reason"]) for e in await h.events(type="user.login_failed")]
    assert (agent.email, "local passwords off") in reasons and (other_admin.email, "local passwords off") in reasons
    [changed] = await h.events(type="user.local_passwords_changed")
    assert changed["data"] == {"off": ["admin", "agent"], "by_id": admin.id}

    # The last break-glass admin stays one, and stays an active admin, while admins' local passwords are off.
    refused(await h.client.delete(f"{PATH}/break-glass/{admin.id}", headers=admin.headers), 409, "last break-glass")
    demote = await h.client.patch(f"/api/users/{admin.id}", json={"role": "agent"}, headers=other_admin.headers)
    refused(demote, 409, "last break-glass")
    assert (await ok(await h.client.get(f"/api/users/{admin.id}", headers=admin.headers)))["role"] == "admin"
    assert (await ok(await put(h, admin, admin=True)))["admin"] is True
    assert (await ok(await h.client.delete(f"{PATH}/break-glass/{admin.id}", headers=admin.headers)))[
        "break_glass_ids"
    ] == []


async def test_only_a_few_active_admins_can_be_break_glass(harness: Harness, admin: User, agent: User) -> None:
    h = harness
    refused(await mark(h, admin, agent), 409, "only an active admin")
    admins = [admin, *[await h.user("admin") for _ in range(3)]]
    for made in admins[:3]:
        await ok(await mark(h, admin, made))
    refused(await mark(h, admin, admins[3]), 409, "at most 3")
    assert (await h.client.put(f"{PATH}/break-glass/999999", headers=admin.headers)).status_code == 404
    assert (await ok(await h.client.get(PATH, headers=admin.headers)))["break_glass_ids"] == sorted(
        a.id for a in admins[:3]
    )
    await h.settle()
    assert len(await h.events(type="user.break_glass_marked")) == 3


async def test_the_last_break_glass_admin_cannot_be_erased_while_admins_passwords_are_off(
    harness: Harness, admin: User
) -> None:
    h = harness
    keeper = await h.user("admin")  # the one who still signs in with a password
    await ok(await mark(h, admin, keeper))
    await ok(await put(h, admin, admin=False))
    erase = {"confirm": keeper.email, "reason": "left the company"}
    refused(await h.client.post(f"/api/users/{keeper.id}/erase", json=erase, headers=admin.headers), 409, "break-glass")
    assert (await ok(await h.client.get(PATH, headers=admin.headers)))["break_glass_ids"] == [keeper.id]
    assert (await ok(await login(h, keeper.email)))["user"]["id"] == keeper.id  # nothing changed
    await h.settle()
    assert await h.events(type="user.erased") == []

    await ok(await mark(h, keeper, admin))  # another way in: now the first can go
    await ok(await h.client.post(f"/api/users/{keeper.id}/erase", json=erase, headers=admin.headers))
    assert (await ok(await h.client.get(PATH, headers=admin.headers)))["break_glass_ids"] == [admin.id]


async def test_bad_settings_are_refused_and_change_nothing(harness: Harness, admin: User) -> None:
    h = harness
    for body in ({"agent": "no"}, {"system": False}, {"agent": None, "extra": 1}):
        response = await h.client.put(PATH, json=body, headers=admin.headers)
        assert response.status_code == 422, (body, response.text)
    assert await ok(await h.client.get(PATH, headers=admin.headers)) == {
        "admin": True,
        "agent": True,
        "requester": True,
        "break_glass_ids": [],
    }
    await h.settle()
    assert await h.events(type="user.local_passwords_changed") == []


async def test_a_reset_link_is_refused_for_a_role_whose_local_passwords_are_off(
    harness: Harness, admin: User, agent: User
) -> None:
    h = harness
    await ok(await put(h, admin, agent=False))
    asked = await h.client.post("/api/auth/password-reset", json={"email": agent.email})
    assert asked.status_code == 202  # the same answer as for any address: nobody learns who is an agent
    await h.settle()
    [requested] = await h.events(type="user.password_reset_requested")
    assert requested["data"]["outcome"] == "local passwords off" and requested["data"]["reset_id"] is None


async def test_an_agent_whose_local_password_is_off_signs_in_through_the_directory(
    harness: Harness,
    admin: User,
    directory: Directory,  # noqa: F811
) -> None:
    h = harness
    agent = await h.user("agent", email=f"{directory.unique('staff')}@nixflow.test")
    login_name = directory.person(email=agent.email)
    body: dict[str, Any] = {"slug": "corp-ldap", "name": "Corp", "config": directory.config()}
    await ok(await h.client.post("/api/identity-providers", json=body, headers=admin.headers), 201)
    await ok(await put(h, admin, agent=False))
    refused(await login(h, agent.email), 403, "turned off for agents")
    assert (await ok(await login(h, login_name, USER_PASSWORD)))["user"]["id"] == agent.id
    await h.settle()
    [signed_in] = await h.events(type="user.login")
    assert signed_in["data"]["user_id"] == agent.id


async def test_a_link_mailed_before_local_passwords_went_off_no_longer_sets_one(
    desk: Harness,  # noqa: F811
    smtp: SmtpServer,
) -> None:
    h = desk
    admin, agent = await h.user("admin"), await h.user("agent")
    assert (await ask(h, agent.email)).status_code == 202
    [mail] = await mails(h, smtp, agent.email, 1)
    await ok(await put(h, admin, agent=False))
    refused(await confirm(h, token_in(mail)), 400, "local passwords are turned off for agents")
    refused(await login(h, agent.email, NEW_PASSWORD), 401, "email or password is wrong")
    await h.settle()
    assert await h.events(type="user.password_reset") == []
