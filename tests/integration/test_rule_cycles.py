"""Rules in cycles, through the API (SQLite, and PostgreSQL + Redis): a person's change is never undone by a rule
reacting to it, a rule that changes what a person just set is named, and 400 fighting rules do bounded work."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import delete, select
from tests.conftest import Harness, User

from nixflow.automation.cycle import MAX_PASSES
from nixflow.store import event_log
from nixflow.store.db import Tx
from nixflow.store.tables import handler_receipts

OUTAGE_RULE = "outage or down is critical"
RULES = 400


async def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def _open(h: Harness, user: User, title: str, **extra: Any) -> dict[str, Any]:
    body = {"title": title, "description": "reported by phone", **extra}
    return dict(await _ok(await h.client.post("/api/tickets", json=body, headers=user.headers), 201))


async def _ticket(h: Harness, user: User, ticket_id: int) -> dict[str, Any]:
    return dict(await _ok(await h.client.get(f"/api/tickets/{ticket_id}", headers=user.headers)))


async def _patch(h: Harness, user: User, ticket_id: int, correlation: str, **changes: Any) -> dict[str, Any]:
    version = (await _ticket(h, user, ticket_id))["version"]
    headers = {**user.headers, "X-Correlation-ID": correlation}
    body = {"version": version, **changes}
    return dict(await _ok(await h.client.patch(f"/api/tickets/{ticket_id}", json=body, headers=headers)))


async def test_an_agent_setting_a_priority_is_not_undone_by_the_keyword_rule(
    harness: Harness, agent: User, requester: User
) -> None:
    ticket = await _open(harness, requester, "Core switch is down")
    await harness.settle()
    assert (await _ticket(harness, agent, ticket["id"]))["priority"] == "critical"  # the rule on the new text

    await _patch(harness, agent, ticket["id"], "agent-sets-normal", priority="normal")
    await harness.settle()
    assert (await _ticket(harness, agent, ticket["id"]))["priority"] == "normal"
    caused = await harness.events(correlation_id="agent-sets-normal")
    assert [e["type"] for e in caused if e["type"].startswith("automation.")] == []
    assert [e["metadata"].get("rule_id") for e in caused if e["type"] == "ticket.priority_changed"] == [None]


async def test_a_rule_that_changes_what_a_person_just_set_is_named_with_the_new_value(
    harness: Harness, agent: User, requester: User
) -> None:
    ticket = await _open(harness, requester, "Printer offline", priority="low")
    await harness.settle()
    # The title is new text for the keyword rule: it reacts to it, and overrides the priority set with it.
    await _patch(harness, agent, ticket["id"], "title-and-priority", title="Core switch is down", priority="normal")
    await harness.settle()
    assert (await _ticket(harness, agent, ticket["id"]))["priority"] == "critical"
    changes = [e for e in await harness.events(correlation_id="title-and-priority") if e["type"].startswith("ticket.")]
    by_rule = [e for e in changes if e["type"] == "ticket.priority_changed" and e["metadata"].get("rule_id")]
    [change] = by_rule
    assert change["metadata"]["rule_name"] == OUTAGE_RULE
    assert change["data"]["new_priority"] == "critical" and change["data"]["old_priority"] == "normal"
    # The same envelope is what the ticket's timeline (and the WebSocket) carries.
    timeline = await _ok(await harness.client.get(f"/api/tickets/{ticket['id']}/events", headers=agent.headers))
    [live] = [e for e in timeline if e["event_id"] == change["event_id"]]
    assert live["metadata"]["rule_name"] == OUTAGE_RULE and live["data"]["new_priority"] == "critical"


def fighting_rules(count: int) -> list[dict[str, Any]]:
    """Rules with empty conditions and conflicting actions, as a fuzzer makes them."""
    actions: list[list[dict[str, Any]]] = [
        [{"type": "set_priority", "value": "low"}],
        [{"type": "set_priority", "value": "high"}],
        [{"type": "assign_round_robin"}],
        [{"type": "escalate", "level": 1}, {"type": "set_priority", "value": "critical"}],
    ]
    return [
        {
            "name": f"fuzz {i}",
            "kind": "assignment" if i % 2 else "prioritization",
            "conditions": {},
            "actions": actions[i % len(actions)],
        }
        for i in range(count)
    ]


async def test_four_hundred_fighting_rules_fire_once_each_per_ticket(
    harness: Harness, admin: User, requester: User
) -> None:
    category = await _ok(
        await harness.client.post("/api/categories", json={"name": "Network"}, headers=admin.headers), 201
    )
    await harness.user("agent", category_ids=[category["id"]])
    await harness.user("agent", category_ids=[category["id"]])
    for rule in fighting_rules(RULES):
        await _ok(await harness.client.post("/api/rules", json=rule, headers=admin.headers), 201)

    ticket = await _open(harness, requester, "Core switch is down", category_id=category["id"])
    await harness.settle()
    flt = event_log.EventFilter(aggregate_type="ticket", aggregate_id=str(ticket["id"]))
    records, _ = await harness.nixflow.db.read(lambda conn: event_log.find_many(conn, flt, limit=50_000))
    events = [r.envelope() for r in reversed(records)]
    outcomes = [e for e in events if e["type"].startswith("automation.rule_")]
    fired = Counter(e["data"]["rule_id"] for e in outcomes)
    assert fired and max(fired.values()) == 1  # each rule at most once in the cycle
    active = len([r for r in await _ok(await harness.client.get("/api/rules", headers=admin.headers)) if r["active"]])
    assert len(fired) <= active
    # Every one of the priority rules had something to do: they alternate low / high / critical.
    priorities = [e for e in events if e["type"] == "ticket.priority_changed"]
    assert len(priorities) >= RULES // 2
    assert len([e for e in events if e["type"] == "ticket.assigned"]) == 1  # round-robin: once, then assigned
    assert len(events) <= active * MAX_PASSES * 2  # bounded by rules x passes, not rules^depth
    assert all(e["status"] == "completed" for e in events)
    assert (await _ticket(harness, admin, ticket["id"]))["priority"] == "critical"  # the last rule's word


def _fired(events: list[dict[str, Any]], rule_id: int) -> int:
    return len([e for e in events if e["type"] == "automation.rule_applied" and e["data"]["rule_id"] == rule_id])


async def test_a_trigger_handled_again_later_knows_what_its_cycle_already_fired(
    harness: Harness, admin: User, agent: User, requester: User
) -> None:
    # Reads the priority too, so the agent's priority change in the same request concerns it as well.
    pager = {
        "name": "down pages the admins",
        "kind": "prioritization",
        "conditions": {
            "all": [{"field": "priority", "op": "in", "value": ["low", "normal", "high", "critical"]}],
            "any": [{"field": "text", "op": "contains_word", "value": "down"}],
        },
        "actions": [{"type": "notify", "role": "admin"}],
    }
    rule = await _ok(await harness.client.post("/api/rules", json=pager, headers=admin.headers), 201)
    ticket = await _open(harness, requester, "Printer offline")
    await harness.settle()
    await _patch(harness, agent, ticket["id"], "paged-once", title="Core switch is down", priority="high")
    await harness.settle()

    events = await harness.events(correlation_id="paged-once")
    assert _fired(events, rule["id"]) == 1  # on the title change; the priority change in the cycle finds it fired
    [person] = [e for e in events if e["type"] == "ticket.priority_changed" and not e["metadata"].get("rule_id")]

    # As if the engine's handling of the agent's change had not committed: a worker takes it from the log.
    def forget(tx: Tx) -> None:
        tx.conn.execute(
            delete(handler_receipts).where(
                handler_receipts.c.handler == "automation.rules", handler_receipts.c.event_id == person["event_id"]
            )
        )

    await harness.write(forget)
    replay = await harness.client.post(f"/api/events/{person['event_id']}/replay", headers=admin.headers)
    assert replay.status_code == 202, replay.text
    await harness.settle()
    assert _fired(await harness.events(correlation_id="paged-once"), rule["id"]) == 1
    receipts = await harness.nixflow.db.read(
        lambda conn: conn.execute(
            select(handler_receipts.c.handler).where(handler_receipts.c.event_id == person["event_id"])
        ).all()
    )
    assert ("automation.rules",) in [tuple(r) for r in receipts]  # it was handled again, and fired nothing
