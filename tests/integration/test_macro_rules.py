"""Rules that reply and apply macros, in both modes: a rule's reply is a template filled in for the ticket; a rule
applies a shared macro as NixFlow, its changes caused by `macro.applied` and carrying the rule; what a person
just set is left alone by the macro; templates past the allow-list and macros a rule may not use are refused when
the rule is saved, and nothing is stored."""

from __future__ import annotations

from typing import Any

from tests.conftest import Harness, User


async def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def _only(h: Harness, admin: User, **rule: Any) -> dict[str, Any]:
    """This rule, and no other active one."""
    for old in await _ok(await h.client.get("/api/rules", headers=admin.headers)):
        await _ok(await h.client.patch(f"/api/rules/{old['id']}", json={"active": False}, headers=admin.headers))
    body = {"kind": "prioritization", **rule}
    return dict(await _ok(await h.client.post("/api/rules", json=body, headers=admin.headers), 201))


async def _macro(h: Harness, admin: User, **macro: Any) -> int:
    body = {"name": "Printer triage", "scope": "everyone", **macro}
    return int((await _ok(await h.client.post("/api/macros", json=body, headers=admin.headers), 201))["id"])


async def _comments(h: Harness, agent: User, ticket_id: int) -> list[str]:
    found = await _ok(await h.client.get(f"/api/tickets/{ticket_id}/comments", headers=agent.headers))
    return [c["body"] for c in found]


PRINTER = {"all": [{"field": "text", "op": "contains_word", "value": "printer"}]}


async def test_a_rule_reply_is_filled_in_for_the_ticket(harness: Harness, admin: User, agent: User) -> None:
    h = harness
    reply = "Hello {{ requester.name }}, #{{ ticket.id }} ({{ ticket.title }}) is with us."
    await _only(h, admin, name="ack", conditions=PRINTER, actions=[{"type": "send_reply", "text": reply}])
    rita = await h.user("requester", name="Rita Requester")
    made = await _ok(await h.client.post("/api/tickets", json={"title": "Printer jam"}, headers=rita.headers), 201)
    await h.settle()
    assert await _comments(h, agent, made["id"]) == [f"Hello Rita Requester, #{made['id']} (Printer jam) is with us."]


async def test_a_rule_applies_a_shared_macro_as_nixflow(harness: Harness, admin: User, agent: User) -> None:
    h = harness
    macro_id = await _macro(
        h,
        admin,
        body="Dear {{ requester.name }}, a technician will call.",
        actions={"priority": "high", "add_tags": ["printer"]},
    )
    rule = await _only(
        h, admin, name="triage", conditions=PRINTER, actions=[{"type": "apply_macro", "macro_id": macro_id}]
    )
    rita = await h.user("requester", name="Rita Requester")
    made = await _ok(await h.client.post("/api/tickets", json={"title": "Printer on fire"}, headers=rita.headers), 201)
    await h.settle()
    ticket = await _ok(await h.client.get(f"/api/tickets/{made['id']}", headers=agent.headers))
    assert (ticket["priority"], ticket["tags"]) == ("high", ["printer"])
    assert await _comments(h, agent, made["id"]) == ["Dear Rita Requester, a technician will call."]
    log = [e for e in await h.events() if e["aggregate_id"] == str(made["id"])]
    [applied] = [e for e in log if e["type"] == "macro.applied"]
    assert applied["metadata"]["rule_id"] == rule["id"] and applied["data"]["macro_id"] == macro_id
    caused = [e for e in log if e["metadata"]["causation_id"] == applied["event_id"]]
    assert {e["type"] for e in caused} >= {"ticket.priority_changed", "ticket.tagged", "ticket.commented"}
    assert all(e["metadata"]["rule_id"] == rule["id"] for e in caused)


async def test_a_macro_a_rule_applies_leaves_what_a_person_just_set(
    harness: Harness, admin: User, agent: User, requester: User
) -> None:
    h = harness
    macro_id = await _macro(h, admin, actions={"priority": "critical", "add_tags": ["vip"]})
    low = {"all": [{"field": "priority", "op": "equals", "value": "low"}]}
    await _only(h, admin, name="low means vip", conditions=low, actions=[{"type": "apply_macro", "macro_id": macro_id}])
    made = await _ok(await h.client.post("/api/tickets", json={"title": "Slow wifi"}, headers=requester.headers), 201)
    await h.settle()
    await _ok(
        await h.client.patch(
            f"/api/tickets/{made['id']}", json={"priority": "low", "version": made["version"]}, headers=agent.headers
        )
    )
    await h.settle()
    ticket = await _ok(await h.client.get(f"/api/tickets/{made['id']}", headers=agent.headers))
    assert (ticket["priority"], ticket["tags"]) == ("low", ["vip"])  # the macro's tag, not its priority


async def test_what_a_rule_may_not_reach_is_refused_when_saved(harness: Harness, admin: User, agent: User) -> None:
    h = harness
    personal = (
        await _ok(
            await h.client.post(
                "/api/macros", json={"name": "Mine", "actions": {"priority": "low"}}, headers=agent.headers
            ),
            201,
        )
    )["id"]
    before = await _ok(await h.client.get("/api/rules", headers=admin.headers))
    refused = {
        "'ticket.__class__' is not a variable": [{"type": "send_reply", "text": "{{ ticket.__class__ }}"}],
        f"no shared macro {personal}": [{"type": "apply_macro", "macro_id": personal}],
        "no shared macro 999999": [{"type": "apply_macro", "macro_id": 999_999}],
    }
    for expected, actions in refused.items():
        answer = await h.client.post(
            "/api/rules",
            json={"name": "bad", "kind": "prioritization", "conditions": PRINTER, "actions": actions},
            headers=admin.headers,
        )
        assert answer.status_code == 422, answer.text
        assert expected in answer.json()["detail"], answer.text
    assert await _ok(await h.client.get("/api/rules", headers=admin.headers)) == before
    rule = before[0]
    bad = {"actions": [{"type": "send_reply", "text": "{% for x in y %}{% endfor %}"}]}
    assert (await h.client.patch(f"/api/rules/{rule['id']}", json=bad, headers=admin.headers)).status_code == 422
    assert await _ok(await h.client.get("/api/rules", headers=admin.headers)) == before


async def test_a_reply_template_reads_custom_fields(harness: Harness, admin: User, agent: User) -> None:
    h = harness
    field = {"key": "contract_number", "label": "Contract number", "type": "text", "requester_visible": True}
    await _ok(await h.client.post("/api/fields", json=field, headers=admin.headers), 201)
    reply = "Contract {{ ticket.fields.contract_number }} noted."
    await _only(h, admin, name="ack", conditions=PRINTER, actions=[{"type": "send_reply", "text": reply}])
    rita = await h.user("requester", name="Rita Requester")
    body = {"title": "Printer jam", "fields": {"contract_number": "C-42"}}
    made = await _ok(await h.client.post("/api/tickets", json=body, headers=rita.headers), 201)
    await h.settle()
    assert await _comments(h, agent, made["id"]) == ["Contract C-42 noted."]
    # A field that does not exist is refused when the template is saved, for rules and macros alike.
    unknown = [{"type": "send_reply", "text": "{{ ticket.fields.nope }}"}]
    rule = {"name": "bad", "kind": "prioritization", "conditions": PRINTER, "actions": unknown}
    assert (await h.client.post("/api/rules", json=rule, headers=admin.headers)).status_code == 422
    macro = {"name": "bad", "scope": "everyone", "body": "{{ ticket.fields.nope }}"}
    assert (await h.client.post("/api/replies", json=macro, headers=admin.headers)).status_code == 422
