"""Identity providers, in both modes: admins add, read, change and remove them (each change an event naming the
fields, never a value); secrets are stored encrypted and never read back; bad input changes nothing."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from tests.conftest import Harness, User
from tests.org_helpers import ok

from nixflow.store.tables import identity_providers

PATH = "/api/identity-providers"
OIDC = {"kind": "oidc", "issuer": "https://idp.example.com", "client_id": "nixflow", "client_secret": "s3cret-one"}
MAPPING = {"rules": [{"group": "helpdesk-agents", "role": "agent"}, {"group": "helpdesk-admins", "role": "admin"}]}


async def provider(h: Harness, admin: User, slug: str = "corp", **fields: Any) -> dict[str, Any]:
    """A new provider, as `POST /api/identity-providers` answers."""
    body = {"slug": slug, "name": "Corp SSO", "config": OIDC, "role_mapping": MAPPING, **fields}
    return dict(await ok(await h.client.post(PATH, json=body, headers=admin.headers), 201))


async def _stored_config(h: Harness, provider_id: int) -> dict[str, Any]:
    query = select(identity_providers.c.config).where(identity_providers.c.id == provider_id)
    return dict(await h.nixflow.db.read(lambda conn: conn.execute(query).scalar_one()))


async def test_admins_manage_providers_and_never_read_a_secret_back(harness: Harness, admin: User) -> None:
    h = harness
    made = await provider(h, admin)
    assert made["kind"] == "oidc" and made["enabled"] is True and made["secrets_set"] == ["client_secret"]
    assert "client_secret" not in made["config"] and made["config"]["client_id"] == "nixflow"
    assert made["role_mapping"]["rules"][0] == {"group": "helpdesk-agents", "role": "agent"}
    stored = await _stored_config(h, made["id"])
    assert stored["client_secret"] and "s3cret-one" not in str(stored)  # encrypted at rest
    path = f"{PATH}/{made['id']}"
    assert await ok(await h.client.get(path, headers=admin.headers)) == made
    assert [p["slug"] for p in await ok(await h.client.get(PATH, headers=admin.headers))] == ["corp"]
    # A config change is merged: the secret left out keeps its value (its ciphertext unchanged).
    edited = await ok(
        await h.client.patch(path, json={"name": "Corp", "config": {"client_id": "nf2"}}, headers=admin.headers)
    )
    assert edited["name"] == "Corp" and edited["config"]["client_id"] == "nf2" and edited["secrets_set"]
    assert (await _stored_config(h, made["id"]))["client_secret"] == stored["client_secret"]
    await ok(await h.client.patch(path, json={"config": {"client_secret": "s3cret-two"}}, headers=admin.headers))
    assert (await _stored_config(h, made["id"]))["client_secret"] != stored["client_secret"]
    same = await ok(await h.client.patch(path, json={"config": {"client_id": "nf2"}}, headers=admin.headers))
    assert same["updated_at"] == (await ok(await h.client.get(path, headers=admin.headers)))["updated_at"]
    assert (await h.client.delete(path, headers=admin.headers)).status_code == 204
    assert (await h.client.get(path, headers=admin.headers)).status_code == 404
    trail = [(e["type"], e["data"]["changed"]) for e in await h.events() if "identity_provider" in e["type"]]
    assert trail == [
        ("user.identity_provider_created", ["config", "enabled", "name", "role_mapping"]),
        ("user.identity_provider_updated", ["config", "name"]),
        ("user.identity_provider_updated", ["config"]),
        ("user.identity_provider_deleted", []),
    ]
    assert "s3cret" not in str(await h.events())


async def test_bad_input_is_refused_and_changes_nothing(harness: Harness, admin: User, agent: User) -> None:
    h = harness
    made = await provider(h, admin)
    path = f"{PATH}/{made['id']}"
    logged = len(await h.events())
    refused = [
        (await h.client.post(PATH, json={"slug": "corp", "name": "X", "config": OIDC}, headers=admin.headers), 409),
        (await h.client.post(PATH, json={"slug": "Bad Slug", "name": "X", "config": OIDC}, headers=admin.headers), 422),
        (
            await h.client.post(
                PATH, json={"slug": "other", "name": "X", "config": {"kind": "nope"}}, headers=admin.headers
            ),
            422,
        ),
        (
            await h.client.post(
                PATH,
                json={"slug": "other", "name": "X", "config": {**OIDC, "issuer": "ftp://x"}},
                headers=admin.headers,
            ),
            422,
        ),
        (await h.client.patch(path, json={"config": {"kind": "saml"}}, headers=admin.headers), 422),
        (await h.client.patch(path, json={"config": {"scopes": "openid"}}, headers=admin.headers), 422),
        (
            await h.client.patch(
                path, json={"role_mapping": {"rules": [{"group": "g", "role": "system"}]}}, headers=admin.headers
            ),
            422,
        ),
        (await h.client.post(PATH, json={"slug": "mine", "name": "X", "config": OIDC}, headers=agent.headers), 403),
        (await h.client.get(PATH, headers=agent.headers), 403),
        (await h.client.delete(path, headers=agent.headers), 403),
    ]
    for response, status in refused:
        assert response.status_code == status, response.text
    assert await ok(await h.client.get(path, headers=admin.headers)) == made
    assert len(await h.events()) == logged
