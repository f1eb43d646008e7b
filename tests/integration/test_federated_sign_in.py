"""The identity seam every single sign-on method uses (`services.identity.sign_in_federated`), in both modes: a
new person is created just in time, an existing one linked only by a verified address, the group -> role mapping
re-applied at each sign-in; what is refused changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from tests.conftest import Harness, User
from tests.integration.test_identity_providers import provider

from nixflow.domain.errors import Forbidden
from nixflow.services import identity, identity_providers, users
from nixflow.store import identity as identity_rows
from nixflow.store.db import Tx


async def _sign_in(h: Harness, slug: str, subject: str, email: str | None, **claims: Any) -> int:
    def sign_in(tx: Tx) -> int:
        found = identity_providers.for_sign_in(tx.conn, slug=slug, kind="oidc")
        return identity.sign_in_federated(
            tx,
            provider=found,
            subject=subject,
            email=email,
            email_verified=claims.get("email_verified", True),
            name=claims.get("name"),
            groups=claims.get("groups", []),
        )

    user_id: int = await h.write(sign_in)
    return user_id


async def _user(h: Harness, user_id: int) -> dict[str, Any]:
    return await h.nixflow.db.read(lambda conn: users.get_user(conn, user_id=user_id))


async def test_first_sign_in_creates_the_user_and_the_groups_give_the_role_each_time(
    harness: Harness, admin: User
) -> None:
    h = harness
    await provider(h, admin)
    user_id = await _sign_in(h, "corp", "sub-1", "Ada@Example.com", name="Ada L", groups=["helpdesk-agents"])
    made = await _user(h, user_id)
    assert (made["email"], made["name"], made["role"], made["active"]) == ("ada@example.com", "Ada L", "agent", True)
    assert await _sign_in(h, "corp", "sub-1", "ada@example.com", groups=["helpdesk-agents", "helpdesk-admins"]) == (
        user_id
    )
    assert (await _user(h, user_id))["role"] == "admin"  # the highest role any of their groups gives
    await _sign_in(h, "corp", "sub-1", "ada@example.com", groups=[])
    assert (await _user(h, user_id))["role"] == "requester"  # out of the groups: the role is gone
    trail = [(e["type"], e["data"].get("new_role") or e["data"].get("via")) for e in await h.events(category="user")]
    assert [t for t in trail if t[0] in ("user.identity_linked", "user.role_changed")] == [
        ("user.identity_linked", "created"),
        ("user.role_changed", "admin"),
        ("user.role_changed", "requester"),
    ]
    [created] = [e for e in await h.events(type="user.created") if e["data"]["user_id"] == user_id]
    assert created["data"]["role"] == "agent"
    links = await h.nixflow.db.read(lambda conn: identity_rows.identities_of(conn, user_id))
    assert [(link["subject"], link["last_sign_in_at"] is not None) for link in links] == [("sub-1", True)]


async def test_an_existing_account_is_linked_by_a_verified_address_only(
    harness: Harness, admin: User, agent: User
) -> None:
    h = harness
    await provider(h, admin, role_mapping={})  # no rules: the provider does not manage roles
    before = len(await h.events())
    for email, verified in ((agent.email, False), ("nobody@example.com", False), (None, True)):
        with pytest.raises(Forbidden):
            await _sign_in(h, "corp", "sub-x", email, email_verified=verified)
    assert len(await h.events()) == before  # nothing linked, nothing created
    assert await h.nixflow.db.read(lambda conn: users.find_by_email(conn, email="nobody@example.com")) is None
    assert await _sign_in(h, "corp", "sub-x", agent.email.upper()) == agent.id
    assert (await _user(h, agent.id))["role"] == "agent"  # kept: the mapping has no rules
    [linked] = await h.events(type="user.identity_linked")
    assert linked["data"] == {
        "user_id": agent.id,
        "provider_id": linked["data"]["provider_id"],
        "provider_slug": "corp",
        "via": "email",
    }


async def test_a_deactivated_account_or_a_disabled_provider_signs_nobody_in(
    harness: Harness, admin: User, agent: User
) -> None:
    h = harness
    made = await provider(h, admin)
    assert await _sign_in(h, "corp", "sub-a", agent.email, groups=["helpdesk-agents"]) == agent.id
    await h.write(lambda tx: users.update_user(tx, user_id=agent.id, changes={"active": False}))
    before = len(await h.events())
    with pytest.raises(Forbidden):
        await _sign_in(h, "corp", "sub-a", agent.email, groups=["helpdesk-admins"])
    assert (await _user(h, agent.id))["role"] == "agent" and len(await h.events()) == before
    await h.client.patch(f"/api/identity-providers/{made['id']}", json={"enabled": False}, headers=admin.headers)
    with pytest.raises(Exception, match="no enabled oidc provider"):
        await _sign_in(h, "corp", "sub-b", "new@example.com")
