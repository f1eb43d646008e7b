"""Passkeys through the API: register one while signed in, list, rename, delete it, and sign in with it without a
password. The authenticator is `tests/passkey_authenticator.py`: a real key making real WebAuthn responses."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from tests.conftest import Harness, User
from tests.passkey_authenticator import Authenticator

from nixflow.config import Settings
from nixflow.store.tables import api_tokens

ORIGIN = "https://help.example.com"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """NixFlow served at help.example.com: passkeys are bound to that RP id and origin."""
    return settings.model_copy(update={"base_url": ORIGIN})


async def register(harness: Harness, user: User, key: Authenticator, name: str = "Laptop") -> dict[str, Any]:
    """Register `key` for `user` through the API, as the account page does."""
    options = await harness.client.post("/api/auth/passkeys/register/options", headers=user.headers)
    assert options.status_code == 200, options.text
    body = {"name": name, "credential": key.create(options.json())}
    added = await harness.client.post("/api/auth/passkeys/register", json=body, headers=user.headers)
    assert added.status_code == 201, added.text
    answer: dict[str, Any] = added.json()
    return answer


async def sign_in_options(harness: Harness) -> dict[str, Any]:
    options = await harness.client.post("/api/auth/passkeys/login/options")
    assert options.status_code == 200, options.text
    answer: dict[str, Any] = options.json()
    return answer


async def sessions(harness: Harness, user_id: int) -> int:
    """How many sessions `user_id` was ever given."""
    query = select(func.count()).where(api_tokens.c.user_id == user_id, api_tokens.c.kind == "session")
    return int(await harness.nixflow.db.read(lambda conn: conn.execute(query).scalar_one()))


async def test_options_ask_for_a_discoverable_passkey_with_the_user_verified(harness: Harness, agent: User) -> None:
    options = (await harness.client.post("/api/auth/passkeys/register/options", headers=agent.headers)).json()
    assert options["rp"] == {"id": "help.example.com", "name": "NixFlow"}
    assert options["authenticatorSelection"]["residentKey"] == "required"
    assert options["authenticatorSelection"]["userVerification"] == "required"
    assert options["user"]["name"] == agent.email and options["excludeCredentials"] == []
    key = Authenticator(ORIGIN)
    await register(harness, agent, key)
    again = (await harness.client.post("/api/auth/passkeys/register/options", headers=agent.headers)).json()
    assert again["user"]["id"] == options["user"]["id"]  # one handle per user, whatever the passkey
    assert [c["id"] for c in again["excludeCredentials"]] == [key.id]


async def test_a_user_registers_renames_and_deletes_a_passkey(harness: Harness, agent: User) -> None:
    key = Authenticator(ORIGIN)
    added = await register(harness, agent, key, name="Work laptop")
    assert added["name"] == "Work laptop" and added["transports"] == ["internal"] and added["last_used_at"] is None
    url = f"/api/auth/passkeys/{added['id']}"
    renamed = await harness.client.patch(url, json={"name": "Old laptop"}, headers=agent.headers)
    assert renamed.status_code == 200 and renamed.json()["name"] == "Old laptop"
    listed = (await harness.client.get("/api/auth/passkeys", headers=agent.headers)).json()
    assert [(p["id"], p["name"]) for p in listed] == [(added["id"], "Old laptop")]

    assert (await harness.client.delete(url, headers=agent.headers)).status_code == 204
    assert (await harness.client.get("/api/auth/passkeys", headers=agent.headers)).json() == []
    assert (await harness.client.delete(url, headers=agent.headers)).status_code == 404
    options = await sign_in_options(harness)
    refused = await harness.client.post("/api/auth/passkeys/login", json={"credential": key.get(options)})
    assert refused.status_code == 401  # a deleted passkey signs nobody in

    await harness.settle()
    [created] = await harness.events(type="user.passkey_added")
    [removed] = await harness.events(type="user.passkey_removed")
    assert created["data"] == {"user_id": agent.id, "by_id": agent.id, "passkey_id": added["id"], "name": "Work laptop"}
    assert removed["data"] == {"user_id": agent.id, "by_id": agent.id, "passkey_id": added["id"], "name": "Old laptop"}
    assert all(key.id not in str(e) for e in (created, removed))


async def test_someone_elses_passkey_cannot_be_renamed_or_deleted(harness: Harness, agent: User) -> None:
    other = await harness.user("agent")
    added = await register(harness, agent, Authenticator(ORIGIN))
    url = f"/api/auth/passkeys/{added['id']}"
    assert (await harness.client.patch(url, json={"name": "mine"}, headers=other.headers)).status_code == 404
    assert (await harness.client.delete(url, headers=other.headers)).status_code == 404
    assert (await harness.client.get("/api/auth/passkeys", headers=other.headers)).json() == []
    assert [p["name"] for p in (await harness.client.get("/api/auth/passkeys", headers=agent.headers)).json()] == [
        "Laptop"
    ]


async def test_a_user_signs_in_with_a_passkey_and_no_password(harness: Harness, requester: User) -> None:
    key = Authenticator(ORIGIN)
    added = await register(harness, requester, key)
    options = await sign_in_options(harness)
    assert options["rpId"] == "help.example.com" and options["userVerification"] == "required"
    assert options["allowCredentials"] == []  # discoverable: the passkey names the user

    signed_in = await harness.client.post("/api/auth/passkeys/login", json={"credential": key.get(options)})
    assert signed_in.status_code == 200, signed_in.text
    assert signed_in.json()["user"]["id"] == requester.id
    assert "nixflow_session" in signed_in.cookies
    me = await harness.client.get("/api/auth/me", headers={"Authorization": f"Bearer {signed_in.json()['token']}"})
    assert me.json()["id"] == requester.id
    [used] = (await harness.client.get("/api/auth/passkeys", headers=requester.headers)).json()
    assert used["id"] == added["id"] and used["last_used_at"] is not None

    again = await harness.client.post(
        "/api/auth/passkeys/login", json={"credential": key.get(await sign_in_options(harness))}
    )
    assert again.status_code == 200, again.text  # the sign count grew again
    assert await sessions(harness, requester.id) == 2
    await harness.settle()
    assert [e["data"] for e in await harness.events(type="user.login")] == [{"user_id": requester.id}] * 2


async def test_registration_needs_a_name_and_a_signed_in_user(harness: Harness, agent: User) -> None:
    key = Authenticator(ORIGIN)
    options = (await harness.client.post("/api/auth/passkeys/register/options", headers=agent.headers)).json()
    blank = {"name": "  ", "credential": key.create(options)}
    assert (
        await harness.client.post("/api/auth/passkeys/register", json=blank, headers=agent.headers)
    ).status_code == 422
    assert (await harness.client.post("/api/auth/passkeys/register/options")).status_code == 401
    assert (await harness.client.get("/api/auth/passkeys", headers=agent.headers)).json() == []


async def test_a_persons_export_lists_their_passkeys_without_key_material(harness: Harness, agent: User) -> None:
    key = Authenticator(ORIGIN)
    added = await register(harness, agent, key, name="Phone")
    exported = await harness.client.get(f"/api/users/{agent.id}/export", headers=agent.headers)
    assert [(p["id"], p["name"]) for p in exported.json()["passkeys"]] == [(added["id"], "Phone")]
    assert key.id not in exported.text and "public_key" not in exported.text
