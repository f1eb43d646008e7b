"""Sign-in with directory credentials against the real slapd, in both modes: the sign-in form's name and password
bind against an enabled LDAP provider, the person's groups give the role at each sign-in; a wrong password, an
injected name and a directory that is down each get the right answer and create nothing."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from tests.conftest import PASSWORD, Harness, User
from tests.ldap_directory import USER_PASSWORD, Directory, closed_port, directory  # noqa: F401
from tests.org_helpers import ok

from nixflow.store.tables import user_identities, users


async def ldap_provider(h: Harness, admin: User, config: dict[str, Any], **mapping: str) -> dict[str, Any]:
    """An enabled LDAP provider; `mapping` is group -> role."""
    rules = [{"group": group, "role": role} for group, role in mapping.items()]
    body = {"slug": "directory", "name": "Directory", "config": config, "role_mapping": {"rules": rules}}
    return dict(await ok(await h.client.post("/api/identity-providers", json=body, headers=admin.headers), 201))


async def login(h: Harness, name: str, password: str) -> httpx.Response:
    return await h.client.post("/api/auth/login", json={"email": name, "password": password})


async def counts(h: Harness) -> tuple[int, int]:
    """How many users and identity links there are."""

    def read(conn: Any) -> tuple[int, int]:
        people, links = (
            conn.execute(select(func.count()).select_from(t)).scalar_one() for t in (users, user_identities)
        )
        return int(people), int(links)

    result: tuple[int, int] = await h.nixflow.db.read(read)
    return result


@pytest.mark.parametrize("tls", [False, True], ids=["plain", "starttls"])
async def test_a_directory_person_signs_in_and_their_group_gives_the_role_at_each_sign_in(
    harness: Harness,
    admin: User,
    directory: Directory,  # noqa: F811
    tls: bool,
) -> None:
    h = harness
    login_name = directory.person(name="Dora Directory")
    agents = directory.group(login_name)
    await ldap_provider(h, admin, directory.config(start_tls=tls), **{agents: "agent"})

    first = await login(h, login_name, USER_PASSWORD)
    body = await ok(first)
    assert (body["user"]["email"], body["user"]["name"], body["user"]["role"]) == (
        f"{login_name}@nixflow.test",
        "Dora Directory",
        "agent",
    )
    me = await ok(await h.client.get("/api/auth/me", headers={"Authorization": f"Bearer {body['token']}"}))
    assert me["id"] == body["user"]["id"]

    directory.remove_member(agents, login_name)  # ldapmodify: out of the group
    again = await ok(await login(h, login_name.upper(), USER_PASSWORD))
    assert again["user"]["id"] == body["user"]["id"] and again["user"]["role"] == "requester"
    await h.settle()
    [linked] = await h.events(type="user.identity_linked")
    assert linked["data"]["via"] == "created"
    [changed] = await h.events(type="user.role_changed")
    assert (changed["data"]["old_role"], changed["data"]["new_role"]) == ("agent", "requester")


async def test_a_local_account_is_linked_by_its_directory_address(
    harness: Harness,
    directory: Directory,  # noqa: F811
    admin: User,
) -> None:
    h = harness
    agent = await h.user("agent", email=f"{directory.unique('local')}@nixflow.test")
    login_name = directory.person(email=agent.email)
    await ldap_provider(h, admin, directory.config())
    assert (await ok(await login(h, login_name, USER_PASSWORD)))["user"]["id"] == agent.id
    assert (await ok(await login(h, agent.email, PASSWORD)))["user"]["id"] == agent.id  # the local password too


@pytest.mark.parametrize(
    "attempt",
    ["wrong password", "injected name", "unknown name", "empty password", "no address in the directory"],
)
async def test_what_the_directory_refuses_creates_nothing(
    harness: Harness,
    admin: User,
    directory: Directory,  # noqa: F811
    attempt: str,
) -> None:
    h = harness
    login_name = directory.person()
    nameless = directory.person(email="")
    await ldap_provider(h, admin, directory.config(), **{directory.group(login_name): "admin"})
    before = await counts(h)
    name, password, status = {
        "wrong password": (login_name, "not the password", 401),
        "injected name": (f"*)(uid={login_name}", USER_PASSWORD, 401),  # unescaped: the filter finds the person
        "unknown name": ("nobody-at-all", USER_PASSWORD, 401),
        "empty password": (login_name, "", 422),  # never sent to the directory: an empty bind is anonymous
        "no address in the directory": (nameless, USER_PASSWORD, 403),
    }[attempt]
    response = await login(h, name, password)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "set-cookie" not in response.headers
    assert await counts(h) == before
    await h.settle()
    failures = await h.events(type="user.login_failed")
    assert [f["data"]["email"] for f in failures] == ([] if status == 422 else [name.lower()])
    assert await h.events(type="user.login") == []


async def test_a_directory_that_is_down_answers_503_and_local_users_still_sign_in(
    harness: Harness,
    admin: User,
    agent: User,
    directory: Directory,  # noqa: F811
) -> None:
    h = harness
    login_name = directory.person()
    await ldap_provider(h, admin, directory.config(url=f"ldap://127.0.0.1:{closed_port()}"))
    before = await counts(h)
    down = await login(h, login_name, USER_PASSWORD)
    assert down.status_code == 503, down.text
    assert down.headers["content-type"].startswith("application/problem+json")
    assert "directory could not be reached" in down.json()["detail"]
    assert await counts(h) == before
    assert (await ok(await login(h, agent.email, PASSWORD)))["user"]["id"] == agent.id
    await h.settle()
    [failed] = await h.events(type="user.login_failed")
    assert failed["data"] == {"email": login_name, "reason": "directory unavailable"}


async def test_directory_sign_ins_share_the_password_rate_limit(
    harness: Harness,
    admin: User,
    directory: Directory,  # noqa: F811
) -> None:
    h = harness
    login_name = directory.person()
    await ldap_provider(h, admin, directory.config())
    before = await counts(h)
    for _ in range(h.nixflow.settings.login_max_failures_per_email):
        assert (await login(h, login_name, "guess")).status_code == 401
    refused = await login(h, login_name, USER_PASSWORD)  # the right password, over the limit: not even asked
    assert refused.status_code == 429 and "retry-after" in refused.headers
    assert await counts(h) == before


async def test_an_untrusted_directory_address_neither_links_nor_creates(
    harness: Harness,
    admin: User,
    directory: Directory,  # noqa: F811
) -> None:
    """Where people edit their own `mail`, typing an admin's address there must not make them that admin."""
    h = harness
    login_name = directory.person(email=admin.email)
    await ldap_provider(h, admin, directory.config(trust_email=False))
    before = await counts(h)
    refused = await login(h, login_name, USER_PASSWORD)
    assert refused.status_code == 403 and "does not vouch for this email address" in refused.json()["detail"]
    assert await counts(h) == before
