"""The rule engine on live events: each kind, ordering, shadow mode, rollout, loop protection, exactly-once."""

from __future__ import annotations

import itertools
from typing import Any

from tests.conftest import Harness, User

from nixflow.domain.conditions import in_rollout


async def _rule(harness: Harness, admin: User, **rule: Any) -> dict[str, Any]:
    response = await harness.client.post("/api/rules", json=rule, headers=admin.headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def _open(harness: Harness, user: User, title: str, description: str = "details", **extra: Any) -> int:
    response = await harness.client.post(
        "/api/tickets", json={"title": title, "description": description, **extra}, headers=user.headers
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def _ticket(harness: Harness, admin: User, ticket_id: int) -> dict[str, Any]:
    return dict((await harness.client.get(f"/api/tickets/{ticket_id}", headers=admin.headers)).json())


async def _disable_defaults(harness: Harness, admin: User) -> None:
    for rule in (await harness.client.get("/api/rules", headers=admin.headers)).json():
        await harness.client.patch(f"/api/rules/{rule['id']}", json={"active": False}, headers=admin.headers)


async def test_default_prioritization_words(harness: Harness, admin: User, requester: User) -> None:
    cases = {
        "URGENT: invoice run": "high",
        "Payroll outage": "critical",
        "VPN Down since noon": "critical",
        "urgent, and the site is down": "critical",
        "Downtime planned": "normal",  # "down" only as a whole word
        "Breakdown of costs": "normal",
    }
    ids = {title: await _open(harness, requester, title) for title in cases}
    await harness.settle()
    for title, expected in cases.items():
        assert (await _ticket(harness, admin, ids[title]))["priority"] == expected, title


async def test_rules_run_in_position_order(harness: Harness, admin: User, requester: User) -> None:
    await _disable_defaults(harness, admin)
    always = {"all": [{"field": "title", "op": "contains_word", "value": "printer"}]}
    first = await _rule(
        harness,
        admin,
        name="to low",
        kind="prioritization",
        position=1,
        conditions=always,
        actions=[{"type": "set_priority", "value": "low"}],
    )
    await _rule(
        harness,
        admin,
        name="to high",
        kind="prioritization",
        position=2,
        conditions=always,
        actions=[{"type": "set_priority", "value": "high"}],
    )
    ticket_id = await _open(harness, requester, "printer jams")
    await harness.settle()
    assert (await _ticket(harness, admin, ticket_id))["priority"] == "high"  # the later rule has the last word
    applied = [e["data"]["rule_name"] for e in await harness.events(type="automation.rule_applied")]
    assert applied[:2] == ["to low", "to high"]

    await harness.client.patch(f"/api/rules/{first['id']}", json={"position": 3}, headers=admin.headers)
    second = await _open(harness, requester, "printer smokes")
    await harness.settle()
    assert (await _ticket(harness, admin, second))["priority"] == "low"


async def test_shadow_rule_logs_what_it_would_do_and_changes_nothing(
    harness: Harness, admin: User, requester: User
) -> None:
    rule = await _rule(
        harness,
        admin,
        name="trial: printers low",
        kind="prioritization",
        mode="shadow",
        conditions={"any": [{"field": "text", "op": "contains", "value": "printer"}]},
        actions=[{"type": "set_priority", "value": "low"}],
    )
    ticket_id = await _open(harness, requester, "Printer on floor 2")
    await harness.settle()
    assert (await _ticket(harness, admin, ticket_id))["priority"] == "normal"
    [shadowed] = await harness.events(type="automation.rule_shadowed")
    assert shadowed["data"]["rule_id"] == rule["id"]
    assert shadowed["data"]["actions"] == [{"type": "set_priority", "value": "low"}]
    assert shadowed["aggregate_id"] == str(ticket_id)
    assert not [e for e in await harness.events(type="automation.rule_applied") if e["data"]["rule_id"] == rule["id"]]


async def test_rollout_applies_to_the_tickets_the_stable_hash_picks(
    harness: Harness, admin: User, requester: User
) -> None:
    rule = await _rule(
        harness,
        admin,
        name="half: printers low",
        kind="prioritization",
        rollout_percent=50,
        conditions={"any": [{"field": "text", "op": "contains", "value": "printer"}]},
        actions=[{"type": "set_priority", "value": "low"}],
    )
    ids = [await _open(harness, requester, f"printer {i}") for i in range(30)]
    await harness.settle()
    for ticket_id in ids:
        expected = "low" if in_rollout(rule["id"], ticket_id, 50) else "normal"
        assert (await _ticket(harness, admin, ticket_id))["priority"] == expected
    picked = sum(in_rollout(rule["id"], t, 50) for t in ids)
    assert 0 < picked < len(ids)


async def test_assign_rule_and_rule_failure(harness: Harness, admin: User, requester: User, agent: User) -> None:
    vip = {"any": [{"field": "title", "op": "contains_word", "value": "vip"}]}
    await _rule(
        harness,
        admin,
        name="vip to agent",
        kind="assignment",
        conditions=vip,
        actions=[{"type": "assign", "user_id": agent.id}],
    )
    ticket_id = await _open(harness, requester, "VIP laptop")
    await harness.settle()
    assert (await _ticket(harness, admin, ticket_id))["assignee_id"] == agent.id

    broken = await _rule(
        harness,
        admin,
        name="to a requester",
        kind="assignment",
        conditions={"any": [{"field": "title", "op": "contains_word", "value": "oops"}]},
        actions=[{"type": "set_priority", "value": "high"}, {"type": "assign", "user_id": requester.id}],
    )
    other = await _open(harness, requester, "oops")
    await harness.settle()
    ticket = await _ticket(harness, admin, other)
    assert ticket["assignee_id"] is None and ticket["priority"] == "normal"  # the failed rule changed nothing
    [failed] = await harness.events(type="automation.rule_failed")
    assert failed["data"]["rule_id"] == broken["id"] and "not an active agent" in failed["data"]["error"]


async def test_round_robin_skips_inactive_agents_and_empty_categories(
    harness: Harness, admin: User, requester: User
) -> None:
    empty = (await harness.client.post("/api/categories", json={"name": "Facilities"}, headers=admin.headers)).json()
    ticket_id = await _open(harness, requester, "Broken chair", category_id=empty["id"])
    await harness.settle()
    assert (await _ticket(harness, admin, ticket_id))["assignee_id"] is None
    [skipped] = await harness.events(type="automation.assignment_skipped")
    assert skipped["data"]["category_id"] == empty["id"] and "no eligible agent" in skipped["data"]["reason"]

    network = (await harness.client.post("/api/categories", json={"name": "Network"}, headers=admin.headers)).json()
    a = await harness.user("agent", category_ids=[network["id"]])
    b = await harness.user("agent", category_ids=[network["id"]])
    await harness.client.patch(f"/api/users/{a.id}", json={"active": False}, headers=admin.headers)
    assignees = []
    for i in range(3):
        tid = await _open(harness, requester, f"switch {i}", category_id=network["id"])
        await harness.settle()
        assignees.append((await _ticket(harness, admin, tid))["assignee_id"])
    assert assignees == [b.id, b.id, b.id]


async def test_counters_can_be_read_and_reset(harness: Harness, admin: User, requester: User) -> None:
    network = (await harness.client.post("/api/categories", json={"name": "Network"}, headers=admin.headers)).json()
    a = await harness.user("agent", category_ids=[network["id"]])
    b = await harness.user("agent", category_ids=[network["id"]])
    first = await _open(harness, requester, "one", category_id=network["id"])
    await harness.settle()
    key = f"category:{network['id']}"
    one = await harness.client.get(f"/api/round-robin/counters/{key}", headers=admin.headers)
    assert one.status_code == 200 and one.json()["value"] == 1
    assert (await harness.client.delete(f"/api/round-robin/counters/{key}", headers=admin.headers)).status_code == 204
    assert (await harness.client.get("/api/round-robin/counters", headers=admin.headers)).json() == []
    assert (await harness.client.delete(f"/api/round-robin/counters/{key}", headers=admin.headers)).status_code == 404
    second = await _open(harness, requester, "two", category_id=network["id"])
    await harness.settle()
    assert (await _ticket(harness, admin, first))["assignee_id"] == a.id
    assert (await _ticket(harness, admin, second))["assignee_id"] == a.id  # reset: starts again at the first agent
    assert (await harness.client.delete("/api/round-robin/counters", headers=admin.headers)).status_code == 204
    assert b.id > a.id


async def test_replayed_event_does_not_assign_twice_nor_advance_the_counter(
    harness: Harness, admin: User, requester: User
) -> None:
    network = (await harness.client.post("/api/categories", json={"name": "Network"}, headers=admin.headers)).json()
    a = await harness.user("agent", category_ids=[network["id"]])
    await harness.user("agent", category_ids=[network["id"]])
    ticket_id = await _open(harness, requester, "Router reboots", category_id=network["id"])
    await harness.settle()
    [created] = await harness.events(type="ticket.created", aggregate_id=str(ticket_id))
    for _ in range(2):
        replay = await harness.client.post(f"/api/events/{created['event_id']}/replay", headers=admin.headers)
        assert replay.status_code == 202
        await harness.settle()
    counters = (await harness.client.get("/api/round-robin/counters", headers=admin.headers)).json()
    assert [c["value"] for c in counters] == [1]
    assert (await _ticket(harness, admin, ticket_id))["assignee_id"] == a.id
    assert len(await harness.events(type="ticket.assigned", aggregate_id=str(ticket_id))) == 1
    assert len(await harness.events(type="automation.rule_applied", aggregate_id=str(ticket_id))) == 1


async def test_an_event_caused_by_a_rule_does_not_retrigger_that_rule(
    harness: Harness, admin: User, requester: User
) -> None:
    await _disable_defaults(harness, admin)
    # Matches again after its own change (it listens to ticket.priority_changed): only loop protection stops it.
    rule = await _rule(
        harness,
        admin,
        name="flip",
        kind="prioritization",
        conditions={"any": [{"field": "title", "op": "contains_word", "value": "flip"}]},
        actions=[{"type": "set_priority", "value": "high"}],
    )
    ticket_id = await _open(harness, requester, "flip", priority="low")
    await harness.settle()
    applied = [e for e in await harness.events(type="automation.rule_applied") if e["data"]["rule_id"] == rule["id"]]
    assert len(applied) == 1
    [changed] = await harness.events(type="ticket.priority_changed", aggregate_id=str(ticket_id))
    assert changed["metadata"]["rule_id"] == rule["id"]


async def test_rules_that_would_chain_forever_each_fire_once_in_the_cycle(
    harness: Harness, admin: User, requester: User
) -> None:
    # Before the cycle semantics these four rules chained until the depth limit cut them (rules^depth work).
    await _disable_defaults(harness, admin)
    cycle = ["low", "normal", "high", "critical", "low"]
    for old, new in itertools.pairwise(cycle):
        await _rule(
            harness,
            admin,
            name=f"{old} to {new}",
            kind="prioritization",
            conditions={"all": [{"field": "priority", "op": "equals", "value": old}]},
            actions=[{"type": "set_priority", "value": new}],
        )
    ticket_id = await _open(harness, requester, "spin", priority="low")
    await harness.settle()
    changes = await harness.events(type="ticket.priority_changed", aggregate_id=str(ticket_id))
    # In position order, each against the ticket as the one before left it: low -> normal -> high -> critical -> low.
    assert [e["data"]["new_priority"] for e in changes] == cycle[1:]
    applied = await harness.events(type="automation.rule_applied", aggregate_id=str(ticket_id))
    assert [e["data"]["rule_name"] for e in applied] == [f"{o} to {n}" for o, n in itertools.pairwise(cycle)]
    assert not await harness.events(type="automation.chain_stopped", aggregate_id=str(ticket_id))
    assert (await _ticket(harness, admin, ticket_id))["priority"] == "low"


async def test_rules_and_sla_policies_read_in_a_unit_of_work_follow_changes_made_in_it(harness: Harness) -> None:
    from nixflow.domain.rules import RuleCreate
    from nixflow.domain.values import Priority
    from nixflow.services import rules as rule_store
    from nixflow.services import sla_policies, ticket_sla
    from nixflow.store.db import Tx

    def change_and_reread(tx: Tx) -> tuple[int, int, int | None, int | None]:
        before = len(rule_store.active_rules_of(tx, kinds=rule_store.EVENT_KINDS))
        old_policy = ticket_sla.policy_for(tx, {"priority": "low"})
        spec = RuleCreate.model_validate(
            {
                "name": "printers go low",
                "kind": "prioritization",
                "actions": [{"type": "set_priority", "value": "low"}],
            }
        )
        rule_store.create_rule(tx, spec=spec)
        after = len(rule_store.active_rules_of(tx, kinds=rule_store.EVENT_KINDS))
        sla_policies.put_policy(
            tx,
            priority=Priority.LOW,
            values={"first_response_minutes": 7, "resolution_minutes": 70, "warning_percent": 80},
        )
        new_policy = ticket_sla.policy_for(tx, {"priority": "low"})
        return (
            before,
            after,
            old_policy and old_policy.first_response_minutes,
            new_policy and new_policy.first_response_minutes,
        )

    before, after, old_minutes, new_minutes = await harness.write(change_and_reread)
    assert after == before + 1
    assert old_minutes != 7 and new_minutes == 7
