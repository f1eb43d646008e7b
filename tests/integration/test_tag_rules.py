"""Rules and tags, in both modes: `add_tag` / `remove_tag` actions, the `tag` condition, a person's tag change
that no rule reacting to it undoes, the allow list holding for rules too, and the simulation counting tag
actions without writing anything."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.conftest import Harness, User


async def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def _rule(h: Harness, admin: User, **rule: Any) -> dict[str, Any]:
    body = {"kind": "prioritization", **rule}
    return dict(await _ok(await h.client.post("/api/rules", json=body, headers=admin.headers), 201))


async def _open(h: Harness, requester: User, title: str) -> int:
    created = await _ok(await h.client.post("/api/tickets", json={"title": title}, headers=requester.headers), 201)
    await h.settle()
    return int(created["id"])


async def _ticket(h: Harness, agent: User, ticket_id: int) -> dict[str, Any]:
    return dict(await _ok(await h.client.get(f"/api/tickets/{ticket_id}", headers=agent.headers)))


async def _quiet(h: Harness, admin: User) -> None:
    for rule in await _ok(await h.client.get("/api/rules", headers=admin.headers)):
        await h.client.patch(f"/api/rules/{rule['id']}", json={"active": False}, headers=admin.headers)


VPN_TAGS = {
    "name": "vpn words tag vpn",
    "conditions": {"any": [{"field": "text", "op": "contains_word", "value": ["vpn", "tunnel"]}]},
    "actions": [{"type": "add_tag", "value": " VPN "}],
}
TAGGED_VPN_IS_HIGH = {
    "name": "vpn tickets are high",
    "conditions": {"all": [{"field": "tag", "op": "equals", "value": "vpn"}]},
    "actions": [{"type": "set_priority", "value": "high"}],
}


async def test_a_keyword_rule_tags_and_a_tag_condition_follows(
    harness: Harness, admin: User, agent: User, requester: User
) -> None:
    h = harness
    await _quiet(h, admin)
    tagging = await _rule(h, admin, **VPN_TAGS)
    assert tagging["actions"] == [{"type": "add_tag", "value": "vpn"}]  # stored normalised
    await _rule(h, admin, **TAGGED_VPN_IS_HIGH)
    vpn = await _open(h, requester, "The VPN drops")
    printer = await _open(h, requester, "Printer jams")
    assert (await _ticket(h, agent, vpn))["tags"] == ["vpn"]
    assert (await _ticket(h, agent, vpn))["priority"] == "high"  # the second rule read the first one's tag
    assert (await _ticket(h, agent, printer))["tags"] == [] and (await _ticket(h, agent, printer))["priority"] == (
        "normal"
    )
    # An agent tagging a ticket by hand wakes the tag rule too.
    await _ok(await h.client.post(f"/api/tickets/{printer}/tags", json={"tags": ["vpn"]}, headers=agent.headers))
    await h.settle()
    assert (await _ticket(h, agent, printer))["priority"] == "high"
    tagged = [e for e in await h.events(type="ticket.tagged") if e["aggregate_id"] == str(vpn)]
    assert [e["metadata"].get("rule_id") for e in tagged] == [tagging["id"]]


async def test_a_person_removing_a_tag_is_not_undone_by_a_rule_reacting_to_it(
    harness: Harness, admin: User, agent: User, requester: User
) -> None:
    h = harness
    await _quiet(h, admin)
    await _rule(
        h,
        admin,
        name="untagged vip comes back",
        conditions={"all": [{"field": "tag", "op": "not_equals", "value": "vip"}]},
        actions=[{"type": "add_tag", "value": "vip"}],
    )
    ticket = await _open(h, requester, "Anything")
    assert (await _ticket(h, agent, ticket))["tags"] == ["vip"]  # the creation: the rule tags it
    await _ok(await h.client.delete(f"/api/tickets/{ticket}/tags/vip", headers=agent.headers))
    await h.settle()
    assert (await _ticket(h, agent, ticket))["tags"] == []  # the agent's removal stands


async def test_bad_tag_rules_are_refused_and_the_allow_list_holds_for_rules(
    harness: Harness, admin: User, agent: User, requester: User
) -> None:
    h = harness
    await _quiet(h, admin)
    for bad in (
        {**VPN_TAGS, "actions": [{"type": "add_tag", "value": "two words"}]},
        {**VPN_TAGS, "actions": [{"type": "remove_tag"}]},
        {**TAGGED_VPN_IS_HIGH, "conditions": {"all": [{"field": "tag", "op": "contains", "value": "vpn"}]}},
    ):
        refused = await h.client.post("/api/rules", json={"kind": "prioritization", **bad}, headers=admin.headers)
        assert refused.status_code == 422, refused.text
    await _ok(await h.client.put("/api/tags/allowed", json={"tags": ["printer"]}, headers=admin.headers))
    rule = await _rule(h, admin, **VPN_TAGS)
    ticket = await _open(h, requester, "VPN again")
    assert (await _ticket(h, agent, ticket))["tags"] == []
    failed = [e for e in await h.events(type="automation.rule_failed") if e["data"]["rule_id"] == rule["id"]]
    assert len(failed) == 1 and "vpn" in failed[0]["data"]["error"]


async def test_the_simulation_counts_tag_actions_and_writes_nothing(
    harness: Harness, admin: User, agent: User, requester: User
) -> None:
    h = harness
    await _quiet(h, admin)
    since = datetime.now(UTC) - timedelta(minutes=1)
    vpn = await _open(h, requester, "VPN is slow")
    await _open(h, requester, "Printer jams")
    tagged = await _open(h, requester, "Tunnel down")
    await _ok(await h.client.post(f"/api/tickets/{tagged}/tags", json={"tags": ["vpn"]}, headers=agent.headers))
    until = datetime.now(UTC) + timedelta(minutes=1)
    window = {"since": since.isoformat(), "until": until.isoformat()}
    simulated = await _ok(
        await h.client.post(
            "/api/rules/simulate",
            json={"rule": {"kind": "prioritization", **VPN_TAGS}, **window},
            headers=admin.headers,
        )
    )
    # "Tunnel down" would have been tagged when it was opened; the agent's tag later adds nothing to count.
    assert simulated["actions"]["add_tag"] == 2 and simulated["matched"] == 2
    assert {s["ticket_id"] for s in simulated["sample"]} == {vpn, tagged}
    did = next(s["did"] for s in simulated["sample"] if s["ticket_id"] == tagged)
    assert [d["action"] for d in did] == [{"type": "add_tag", "tags": ["vpn"]}]
    assert (await _ticket(h, agent, vpn))["tags"] == []
    simulated = await _ok(
        await h.client.post(
            "/api/rules/simulate",
            json={"rule": {"kind": "prioritization", **TAGGED_VPN_IS_HIGH}, **window},
            headers=admin.headers,
        )
    )
    assert {s["ticket_id"] for s in simulated["sample"]} == {tagged}  # only the ticket that had the tag
