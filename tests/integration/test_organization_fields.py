"""Custom fields on organizations, in both modes: set when one is made (`organization.created` carries them) and
merged when it is edited (`organization.fields_changed` with only the changed keys, before and after; the same
values again: no event); a value its definition refuses, an unknown key or a ticket field's key is a 422 naming the
field, and nothing is stored."""

from __future__ import annotations

from tests.conftest import Harness, User
from tests.org_helpers import ok, organization

FIELDS = [
    {"key": "account_manager", "label": "Account manager", "type": "text", "entity": "organization"},
    {"key": "tier", "label": "Tier", "type": "select", "options": ["gold", "silver"], "entity": "organization"},
    {"key": "contract_number", "label": "Contract number", "type": "text"},  # a ticket field
]


async def test_fields_are_set_merged_and_each_change_is_an_event(harness: Harness, admin: User, agent: User) -> None:
    h = harness
    for field in FIELDS:
        await ok(await h.client.post("/api/fields", json=field, headers=admin.headers), 201)
    made = await organization(h, admin, "Acme", fields={"tier": "gold"})
    assert made["fields"] == {"tier": "gold"}
    [created] = await h.events(type="organization.created")
    assert created["data"]["fields"] == {"tier": "gold"}
    path = f"/api/organizations/{made['id']}"
    edit = {"fields": {"tier": None, "account_manager": "Bea"}}
    edited = await ok(await h.client.patch(path, json=edit, headers=admin.headers))
    assert edited["fields"] == {"account_manager": "Bea"}
    assert (await ok(await h.client.get(path, headers=agent.headers)))["fields"] == {"account_manager": "Bea"}
    await ok(await h.client.patch(path, json=edit, headers=admin.headers))  # the same again: no event
    [changed] = await h.events(type="organization.fields_changed")
    assert changed["aggregate_id"] == str(made["id"])
    assert changed["data"] == {
        "organization_id": made["id"],
        "by_id": admin.id,
        "before": {"tier": "gold", "account_manager": None},
        "after": {"tier": None, "account_manager": "Bea"},
    }
    assert await h.events(type="organization.updated") == []  # only the fields changed
    listed = await ok(await h.client.get("/api/organizations", headers=agent.headers))
    assert [o["fields"] for o in listed] == [{"account_manager": "Bea"}]


async def test_a_bad_field_is_refused_naming_it_and_nothing_is_stored(harness: Harness, admin: User) -> None:
    h = harness
    for field in FIELDS:
        await ok(await h.client.post("/api/fields", json=field, headers=admin.headers), 201)
    made = await organization(h, admin, "Acme", fields={"tier": "gold"})
    path = f"/api/organizations/{made['id']}"
    before = await h.events()
    for bad, named in (
        ({"tier": "platinum"}, "tier"),
        ({"nope": "x"}, "nope"),
        ({"contract_number": "C-1"}, "contract"),
    ):
        created = await h.client.post(
            "/api/organizations", json={"name": "Globex", "fields": bad}, headers=admin.headers
        )
        assert created.status_code == 422 and named in created.text, created.text
        edit = {"name": "Acme Corp", "fields": bad}
        edited = await h.client.patch(path, json=edit, headers=admin.headers)
        assert edited.status_code == 422 and named in edited.text, edited.text
    assert [o["name"] for o in await ok(await h.client.get("/api/organizations", headers=admin.headers))] == ["Acme"]
    shown = await ok(await h.client.get(path, headers=admin.headers))
    assert (shown["name"], shown["fields"]) == ("Acme", {"tier": "gold"})
    assert await h.events() == before
