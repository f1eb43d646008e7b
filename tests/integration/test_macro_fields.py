"""Macros that set custom fields, in both modes: a bad value is refused when the macro is saved (422 naming the
field, nothing stored); the preview lists the fields that would change; applying sets them in the macro's unit of
work (`ticket.fields_changed` with before and after, caused by `macro.applied`), one by one in bulk too; a rule
applying the macro leaves alone the fields a person just set."""

from __future__ import annotations

from typing import Any

from tests.conftest import Harness, User

FIELDS = [
    {"key": "contract_number", "label": "Contract number", "type": "text"},
    {"key": "plan", "label": "Plan", "type": "select", "options": ["basic", "pro"]},
]


async def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def _define(h: Harness, admin: User) -> None:
    for field in FIELDS:
        await _ok(await h.client.post("/api/fields", json=field, headers=admin.headers), 201)


async def _macro(h: Harness, admin: User, **actions: Any) -> dict[str, Any]:
    body = {"name": "Pro plan", "scope": "everyone", "actions": actions}
    return dict(await _ok(await h.client.post("/api/macros", json=body, headers=admin.headers), 201))


async def _ticket(h: Harness, requester: User, agent: User, title: str = "VPN drops") -> dict[str, Any]:
    made = await _ok(await h.client.post("/api/tickets", json={"title": title}, headers=requester.headers), 201)
    values = {"fields": {"contract_number": "C-1", "plan": "basic"}, "version": made["version"]}
    return dict(await _ok(await h.client.patch(f"/api/tickets/{made['id']}", json=values, headers=agent.headers)))


async def test_a_bad_field_value_is_refused_when_the_macro_is_saved(harness: Harness, admin: User) -> None:
    h = harness
    await _define(h, admin)
    before = await _ok(await h.client.get("/api/macros", headers=admin.headers))
    for fields, named in (({"plan": "gold"}, "plan"), ({"nope": "x"}, "nope"), ({"contract_number": 42}, "contract")):
        body = {"name": "Bad", "scope": "everyone", "actions": {"fields": fields}}
        answer = await h.client.post("/api/macros", json=body, headers=admin.headers)
        assert answer.status_code == 422, answer.text
        assert named in answer.text
    assert await _ok(await h.client.get("/api/macros", headers=admin.headers)) == before
    good = await _macro(h, admin, fields={"plan": "pro"})
    assert good["actions"] == {"fields": {"plan": "pro"}}
    update = {"name": "Pro plan", "scope": "everyone", "actions": {"fields": {"plan": "gold"}}}
    assert (await h.client.put(f"/api/macros/{good['id']}", json=update, headers=admin.headers)).status_code == 422
    assert (await _ok(await h.client.get(f"/api/macros/{good['id']}", headers=admin.headers)))["actions"] == {
        "fields": {"plan": "pro"}
    }


async def test_preview_lists_the_fields_and_apply_sets_them_caused_by_macro_applied(
    harness: Harness, admin: User, agent: User, requester: User
) -> None:
    h = harness
    await _define(h, admin)
    ticket = await _ticket(h, requester, agent)
    macro = await _macro(h, admin, priority="high", fields={"plan": "pro", "contract_number": None})
    base = f"/api/tickets/{ticket['id']}/macros/{macro['id']}"
    preview = await _ok(await h.client.post(f"{base}/preview", headers=agent.headers))
    assert preview["changes"]["fields"] == {
        "plan": {"old": "basic", "new": "pro"},
        "contract_number": {"old": "C-1", "new": None},
    }
    answer = await _ok(
        await h.client.post(f"{base}/apply", json={"version": preview["version"]}, headers=agent.headers)
    )
    assert answer["ticket"]["fields"] == {"plan": "pro"}
    assert answer["ticket"]["priority"] == "high"
    await h.settle()
    [applied] = await h.events(type="macro.applied")
    [changed] = [
        e for e in await h.events(type="ticket.fields_changed") if e["metadata"]["causation_id"] == applied["event_id"]
    ]
    assert changed["data"]["before"] == {"contract_number": "C-1", "plan": "basic"}
    assert changed["data"]["after"] == {"contract_number": None, "plan": "pro"}
    again = await _ok(await h.client.post(f"{base}/preview", headers=agent.headers))
    assert "fields" not in again["changes"]  # nothing left to change


async def test_a_macro_applied_in_bulk_sets_the_field_on_each_ticket(
    harness: Harness, admin: User, agent: User, requester: User
) -> None:
    h = harness
    await _define(h, admin)
    tickets = [await _ticket(h, requester, agent, f"Printer {i}") for i in range(3)]
    macro = await _macro(h, admin, fields={"plan": "pro"})
    body = {"ticket_ids": [t["id"] for t in tickets], "actions": {"macro_id": macro["id"]}}
    answer = await _ok(await h.client.post("/api/tickets/bulk", json=body, headers=agent.headers))
    assert (answer["applied"], answer["failed"]) == (3, 0)
    for t in tickets:
        shown = await _ok(await h.client.get(f"/api/tickets/{t['id']}", headers=agent.headers))
        assert shown["fields"] == {"contract_number": "C-1", "plan": "pro"}
    await h.settle()
    caused = {e["metadata"]["causation_id"] for e in await h.events(type="ticket.fields_changed")}
    assert {e["event_id"] for e in await h.events(type="macro.applied")} <= caused


async def test_a_macro_a_rule_applies_leaves_a_field_a_person_just_set(
    harness: Harness, admin: User, agent: User, requester: User
) -> None:
    h = harness
    await _define(h, admin)
    macro = await _macro(h, admin, fields={"plan": "pro"}, add_tags=["customer"])
    basic = {"all": [{"field": "custom", "key": "plan", "op": "equals", "value": "basic"}]}
    rule = {"name": "basic", "kind": "prioritization", "conditions": basic}
    rule["actions"] = [{"type": "apply_macro", "macro_id": macro["id"]}]
    await _ok(await h.client.post("/api/rules", json=rule, headers=admin.headers), 201)
    ticket = await _ticket(h, requester, agent)  # a person sets plan=basic: the rule fires on that change
    await h.settle()
    shown = await _ok(await h.client.get(f"/api/tickets/{ticket['id']}", headers=agent.headers))
    assert (shown["fields"]["plan"], shown["tags"]) == ("basic", ["customer"])  # the macro's tag, not its field
