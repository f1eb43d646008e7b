"""`GET /api/rules/vocabulary`: what rules can say and the lists their values come from (admin; both modes), and
the simulation naming each ticket it would have caught by its title."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.conftest import Harness, User


async def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def _post(h: Harness, user: User, path: str, body: dict[str, Any], status: int = 201) -> Any:
    return await _ok(await h.client.post(path, json=body, headers=user.headers), status)


def _labels(choices: list[dict[str, Any]]) -> dict[str, Any]:
    return {c["label"]: c["value"] for c in choices}


async def test_the_vocabulary_lists_fields_actions_and_the_values_to_pick_from(
    harness: Harness, admin: User, agent: User, requester: User
) -> None:
    h = harness
    network = await _post(h, admin, "/api/categories", {"name": "Network", "agent_ids": [agent.id]})
    org = await _post(h, admin, "/api/organizations", {"name": "Acme"})
    await _post(h, admin, "/api/fields", {"key": "laptop_model", "label": "Laptop", "type": "select",
                                         "options": ["X1", "T14"]})  # fmt: skip
    shared = await _post(h, admin, "/api/macros", {"name": "Escalate to L2", "scope": "everyone",
                                                  "actions": {"priority": "high"}})  # fmt: skip
    await _post(h, agent, "/api/macros", {"name": "My own", "actions": {"priority": "low"}})
    ticket = await _post(h, requester, "/api/tickets", {"title": "VPN drops", "description": ""})
    await _post(h, agent, f"/api/tickets/{ticket['id']}/tags", {"tags": ["vpn"]}, 200)

    vocabulary = await _ok(await h.client.get("/api/rules/vocabulary", headers=admin.headers))
    fields = {f["name"]: f for f in vocabulary["fields"]}
    assert [o["name"] for o in fields["tag"]["operators"]] == ["equals", "not_equals", "in", "not_in"]
    assert fields["priority"]["values"] == ["low", "normal", "high", "critical"]
    assert fields["assignee_id"]["choices"] == "agents" and fields["custom"]["keyed"]
    assign = next(a for a in vocabulary["actions"] if a["type"] == "assign")
    assert assign["params"] == [
        {"name": "user_id", "label": "Agent", "type": "id", "required": True, "values": None, "choices": "agents",
         "minimum": None, "maximum": None}
    ]  # fmt: skip
    choices = vocabulary["choices"]
    assert _labels(choices["categories"])["Network"] == network["id"]
    assert agent.id in _labels(choices["agents"]).values()
    assert requester.id not in _labels(choices["agents"]).values()
    assert _labels(choices["organizations"]) == {"Acme": org["id"]}
    assert _labels(choices["tags"])["vpn"] == "vpn"
    assert _labels(choices["macros"]) == {"Escalate to L2": shared["id"]}  # a personal macro no rule may apply
    assert choices["fields"] == [
        {"value": "laptop_model", "label": "Laptop", "type": "select", "options": ["X1", "T14"]}
    ]

    for user in (agent, requester):
        refused = await h.client.get("/api/rules/vocabulary", headers=user.headers)
        assert refused.status_code in (403, 404), refused.text


async def test_the_simulation_names_the_tickets_it_would_have_caught(
    harness: Harness, admin: User, agent: User, requester: User
) -> None:
    h = harness
    network = await _post(h, admin, "/api/categories", {"name": "Network", "agent_ids": [agent.id]})
    caught = await _post(h, requester, "/api/tickets", {"title": "VPN drops again", "priority": "high"})
    missed = await _post(h, requester, "/api/tickets", {"title": "VPN slow", "priority": "low"})
    for ticket in (caught, missed):
        tagged = {"tags": ["vpn"]}
        await _post(h, agent, f"/api/tickets/{ticket['id']}/tags", tagged, 200)
    rule = {
        "name": "high vpn to Network",
        "kind": "assignment",
        "conditions": {
            "all": [
                {"field": "priority", "op": "equals", "value": "high"},
                {"field": "tag", "op": "equals", "value": "vpn"},
            ]
        },
        "actions": [{"type": "set_category", "category_id": network["id"]}, {"type": "assign_round_robin"}],
    }
    now = datetime.now(UTC)
    period = {"since": (now - timedelta(days=7)).isoformat(), "until": (now + timedelta(minutes=1)).isoformat()}
    result = await _post(h, admin, "/api/rules/simulate", {"rule": rule, **period}, 200)
    assert [(s["ticket_id"], s["title"]) for s in result["sample"]] == [(caught["id"], "VPN drops again")]
