"""`/api/rules`: the defaults of a fresh database, CRUD, and 422s that name what is wrong."""

from __future__ import annotations

from typing import Any

import pytest
from tests.conftest import Harness, User

RULE: dict[str, Any] = {
    "name": "printer is low",
    "kind": "prioritization",
    "conditions": {"all": [{"field": "title", "op": "contains_word", "value": "printer"}]},
    "actions": [{"type": "set_priority", "value": "low"}],
}


async def test_fresh_database_holds_the_default_rules(harness: Harness, admin: User) -> None:
    response = await harness.client.get("/api/rules", headers=admin.headers)
    assert response.status_code == 200
    rules = response.json()
    positions = [r["position"] for r in rules]
    assert positions == sorted(positions)
    by_name = {r["name"]: r for r in rules}
    outage = by_name["outage or down is critical"]
    assert outage["kind"] == "prioritization" and outage["active"] and outage["mode"] == "enforce"
    assert {"field": "text", "op": "contains_word", "value": ["outage", "down"]} in outage["conditions"]["any"]
    assert outage["actions"] == [{"type": "set_priority", "value": "critical"}]
    assert by_name["urgent is high"]["actions"] == [{"type": "set_priority", "value": "high"}]
    assert any(r["kind"] == "assignment" and r["actions"] == [{"type": "assign_round_robin"}] for r in rules)
    escalation = [r for r in rules if r["kind"] == "escalation"]
    priorities = {c["value"] for r in escalation for c in r["conditions"]["all"] if c["field"] == "priority"}
    assert priorities == {"low", "normal", "high", "critical"}


async def test_create_read_patch_delete(harness: Harness, admin: User) -> None:
    created = await harness.client.post("/api/rules", json=RULE, headers=admin.headers)
    assert created.status_code == 201, created.text
    rule = created.json()
    assert rule["active"] is True and rule["mode"] == "enforce" and rule["rollout_percent"] == 100
    rule_id = rule["id"]
    assert (await harness.client.get(f"/api/rules/{rule_id}", headers=admin.headers)).json()["name"] == RULE["name"]

    patched = await harness.client.patch(
        f"/api/rules/{rule_id}", json={"active": False, "rollout_percent": 25, "mode": "shadow"}, headers=admin.headers
    )
    assert patched.status_code == 200, patched.text
    assert (patched.json()["active"], patched.json()["rollout_percent"], patched.json()["mode"]) == (
        False,
        25,
        "shadow",
    )
    assert patched.json()["conditions"] == RULE["conditions"]

    assert (await harness.client.delete(f"/api/rules/{rule_id}", headers=admin.headers)).status_code == 204
    assert (await harness.client.get(f"/api/rules/{rule_id}", headers=admin.headers)).status_code == 404
    await harness.settle()
    kinds = [e["type"] for e in await harness.events(aggregate_id=str(rule_id))]
    assert {"automation.rule_created", "automation.rule_updated", "automation.rule_disabled"} <= set(kinds)
    assert "automation.rule_deleted" in kinds


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"conditions": {"all": [{"field": "colour", "op": "equals", "value": "red"}]}}, "colour"),
        ({"conditions": {"all": [{"field": "title", "op": "resembles", "value": "x"}]}}, "resembles"),
        ({"actions": [{"type": "explode"}]}, "explode"),
        ({"conditions": {"all": [{"field": "title", "op": "contains_word", "value": 5}]}}, "contains_word"),
        ({"conditions": {"all": [{"field": "priority", "op": "equals", "value": "urgent"}]}}, "priority"),
        ({"conditions": {"all": [{"field": "priority", "op": "gte", "value": 2}]}}, "gte"),
        ({"actions": [{"type": "set_priority", "value": "extreme"}]}, "value"),
        ({"actions": [{"type": "assign"}]}, "user_id"),
        ({"rollout_percent": 150}, "rollout_percent"),
        ({"rollout_percent": "half"}, "rollout_percent"),
        ({"kind": "magic"}, "kind"),
        ({"mode": "dry-run"}, "mode"),
        ({"conditions": {"none": []}}, "none"),
        ({"kind": "escalation"}, "escalate"),
    ],
)
async def test_invalid_rules_are_refused_naming_the_problem(
    harness: Harness, admin: User, change: dict[str, Any], named: str
) -> None:
    response = await harness.client.post("/api/rules", json={**RULE, **change}, headers=admin.headers)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert named in response.text
    rules = (await harness.client.get("/api/rules", headers=admin.headers)).json()
    assert RULE["name"] not in {r["name"] for r in rules}


async def test_patch_that_breaks_a_rule_is_refused_and_changes_nothing(harness: Harness, admin: User) -> None:
    rule = (await harness.client.post("/api/rules", json=RULE, headers=admin.headers)).json()
    bad = await harness.client.patch(
        f"/api/rules/{rule['id']}", json={"actions": [{"type": "teleport"}]}, headers=admin.headers
    )
    assert bad.status_code == 422 and "teleport" in bad.text
    bad_kind = await harness.client.patch(
        f"/api/rules/{rule['id']}", json={"kind": "escalation"}, headers=admin.headers
    )
    assert bad_kind.status_code == 409 and "escalate" in bad_kind.text  # valid alone, not with the rule's actions
    assert (await harness.client.get(f"/api/rules/{rule['id']}", headers=admin.headers)).json() == rule


async def test_patch_with_kind_and_conditions_changes_both(harness: Harness, admin: User) -> None:
    # Regression (issue 17): `kind` and `conditions` together raised TypeError (a 500) while merging.
    rule = (await harness.client.post("/api/rules", json=RULE, headers=admin.headers)).json()
    change = {
        "kind": "assignment",
        "conditions": {},
        "actions": [{"type": "assign_round_robin"}],
        "mode": "enforce",
        "active": None,
        "position": None,
        "rollout_percent": 81,
        "name": "x",
    }
    patched = await harness.client.patch(f"/api/rules/{rule['id']}", json=change, headers=admin.headers)
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert (body["kind"], body["conditions"], body["rollout_percent"], body["name"]) == ("assignment", {}, 81, "x")
    assert body["actions"] == [{"type": "assign_round_robin"}] and body["active"] is True


async def test_unknown_rule_is_404(harness: Harness, admin: User) -> None:
    assert (
        await harness.client.patch("/api/rules/9999", json={"active": False}, headers=admin.headers)
    ).status_code == 404
    assert (await harness.client.delete("/api/rules/9999", headers=admin.headers)).status_code == 404


async def test_sla_policies_read_and_put(harness: Harness, admin: User, agent: User) -> None:
    assert (await harness.client.get("/api/sla/policies", headers=agent.headers)).status_code == 403  # admin config
    policies = (await harness.client.get("/api/sla/policies", headers=admin.headers)).json()
    assert [
        (p["priority"], p["first_response_minutes"], p["resolution_minutes"], p["warning_percent"]) for p in policies
    ] == [
        ("critical", 15, 240, 80),
        ("high", 60, 480, 80),
        ("normal", 240, 1440, 80),
        ("low", 480, 2880, 80),
    ]
    body = {"first_response_minutes": 30, "resolution_minutes": 600, "warning_percent": 50}
    assert (await harness.client.put("/api/sla/policies/high", json=body, headers=agent.headers)).status_code == 403
    put = await harness.client.put("/api/sla/policies/high", json=body, headers=admin.headers)
    assert put.status_code == 200 and put.json()["first_response_minutes"] == 30
    bad = await harness.client.put("/api/sla/policies/high", json={**body, "warning_percent": 0}, headers=admin.headers)
    assert bad.status_code == 422 and "warning_percent" in bad.text
    unknown = await harness.client.put("/api/sla/policies/extreme", json=body, headers=admin.headers)
    assert unknown.status_code == 422
    high = [
        p
        for p in (await harness.client.get("/api/sla/policies", headers=admin.headers)).json()
        if p["priority"] == "high"
    ]
    assert high[0]["resolution_minutes"] == 600
