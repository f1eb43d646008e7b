"""Rules and custom fields, in both modes: a `custom` condition (equals, in, is_null) wakes on
`ticket.fields_changed`, the `set_field` action writes through the same checks as a person (a value the
definition refuses makes the rule fail, naming the field), and the simulation counts `set_field` actions
without writing anything."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.conftest import Harness, User

PLAN = {"key": "plan", "label": "Plan", "type": "select", "options": ["basic", "pro"]}
MODULES = {"key": "modules", "label": "Modules", "type": "multiselect", "options": ["mail", "chat"]}
SLA_TIER = {"key": "tier", "label": "Tier", "type": "text"}
PRO_IS_HIGH = {
    "name": "pro plans are high",
    "conditions": {"all": [{"field": "custom", "key": "plan", "op": "equals", "value": "pro"}]},
    "actions": [{"type": "set_priority", "value": "high"}],
}
CHAT_GETS_A_TIER = {
    "name": "chat customers get tier gold",
    "conditions": {
        "all": [
            {"field": "custom", "key": "modules", "op": "in", "value": ["chat"]},
            {"field": "custom", "key": "tier", "op": "is_null"},
        ]
    },
    "actions": [{"type": "set_field", "key": "tier", "value": "gold"}],
}


async def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def _setup(h: Harness, admin: User) -> None:
    for rule in await _ok(await h.client.get("/api/rules", headers=admin.headers)):
        await h.client.patch(f"/api/rules/{rule['id']}", json={"active": False}, headers=admin.headers)
    for field in (PLAN, MODULES, SLA_TIER):
        await _ok(await h.client.post("/api/fields", json=field, headers=admin.headers), 201)


async def _rule(h: Harness, admin: User, rule: dict[str, Any]) -> Any:
    return await h.client.post("/api/rules", json={"kind": "prioritization", **rule}, headers=admin.headers)


async def _open(h: Harness, agent: User, fields: dict[str, Any]) -> dict[str, Any]:
    made = await _ok(
        await h.client.post("/api/tickets", json={"title": "t", "fields": fields}, headers=agent.headers), 201
    )
    await h.settle()
    return dict(await _ok(await h.client.get(f"/api/tickets/{made['id']}", headers=agent.headers)))


async def test_conditions_on_fields_and_set_field(harness: Harness, admin: User, agent: User) -> None:
    h = harness
    await _setup(h, admin)
    await _ok(await _rule(h, admin, PRO_IS_HIGH), 201)
    await _ok(await _rule(h, admin, CHAT_GETS_A_TIER), 201)
    pro = await _open(h, agent, {"plan": "pro"})
    basic = await _open(h, agent, {"plan": "basic", "modules": ["mail", "chat"]})
    tiered = await _open(h, agent, {"modules": ["chat"], "tier": "silver"})
    assert pro["priority"] == "high" and pro["fields"] == {"plan": "pro"}
    assert basic["priority"] == "normal" and basic["fields"]["tier"] == "gold"
    assert tiered["fields"]["tier"] == "silver"  # is_null: only where it is not set
    # A person's change of a field wakes the rules that read it.
    changed = await h.client.patch(
        f"/api/tickets/{basic['id']}",
        json={"version": basic["version"], "fields": {"plan": "pro"}},
        headers=agent.headers,
    )
    await _ok(changed)
    await h.settle()
    assert (await _ok(await h.client.get(f"/api/tickets/{basic['id']}", headers=agent.headers)))["priority"] == "high"
    applied = [e for e in await h.events(type="ticket.fields_changed") if e["metadata"].get("rule_id") is not None]
    assert [e["data"]["after"] for e in applied] == [{"tier": "gold"}]


async def test_a_bad_rule_value_fails_the_rule_naming_the_field(harness: Harness, admin: User, agent: User) -> None:
    h = harness
    await _setup(h, admin)
    bad_plan = {
        "name": "sets a plan that is not one",
        "conditions": {"all": [{"field": "custom", "key": "tier", "op": "is_null", "value": False}]},
        "actions": [{"type": "set_field", "key": "plan", "value": "gold"}],
    }
    await _ok(await _rule(h, admin, bad_plan), 201)
    ticket = await _open(h, agent, {"tier": "x"})
    assert ticket["fields"] == {"tier": "x"}
    failed = await h.events(type="automation.rule_failed")
    assert len(failed) == 1 and "plan" in failed[0]["data"]["error"]
    no_key = {**PRO_IS_HIGH, "conditions": {"all": [{"field": "custom", "op": "equals", "value": "pro"}]}}
    assert (await _rule(h, admin, no_key)).status_code == 422
    keyless = {**PRO_IS_HIGH, "actions": [{"type": "set_field", "value": "pro"}]}
    assert (await _rule(h, admin, keyless)).status_code == 422


async def test_the_simulation_counts_set_field_and_writes_nothing(harness: Harness, admin: User, agent: User) -> None:
    h = harness
    await _setup(h, admin)
    since = datetime.now(UTC) - timedelta(minutes=1)
    chat = await _open(h, agent, {"modules": ["chat"]})
    await _open(h, agent, {"modules": ["mail"]})
    window = {"since": since.isoformat(), "until": (datetime.now(UTC) + timedelta(minutes=1)).isoformat()}
    simulated = await _ok(
        await h.client.post(
            "/api/rules/simulate",
            json={"rule": {"kind": "prioritization", **CHAT_GETS_A_TIER}, **window},
            headers=admin.headers,
        )
    )
    assert simulated["matched"] == 1 and simulated["actions"]["set_field"] == 1
    assert [s["ticket_id"] for s in simulated["sample"]] == [chat["id"]]
    assert (await _ok(await h.client.get(f"/api/tickets/{chat['id']}", headers=agent.headers)))["fields"] == {
        "modules": ["chat"]
    }
