"""Rule simulation over history: `POST /api/rules/simulate` replays a period of the event log through a rule and
reports what it would have done, beside what happened, writing nothing (SQLite, and PostgreSQL + Redis)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select
from tests.conftest import Harness, ManualClock, User

from nixflow.store.tables import metadata

OUTAGE_RULE = "outage or down is critical"


async def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def _open(h: Harness, user: User, title: str, **extra: Any) -> int:
    body = {"title": title, "description": "reported by phone", **extra}
    return int((await _ok(await h.client.post("/api/tickets", json=body, headers=user.headers), 201))["id"])


def _everything(conn: Connection) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in a stable order: what "writes nothing" is checked against."""
    out = {}
    for table in metadata.sorted_tables:
        rows = conn.execute(select(table)).all()
        out[table.name] = sorted((tuple(r) for r in rows), key=repr)
    return out


async def _rule(h: Harness, admin: User, name: str) -> dict[str, Any]:
    rules = await _ok(await h.client.get("/api/rules", headers=admin.headers))
    return next(r for r in rules if r["name"] == name)


def _as_body(rule: dict[str, Any]) -> dict[str, Any]:
    return {k: rule[k] for k in ("name", "kind", "conditions", "actions")}


async def _advance(h: Harness, clock: ManualClock, **delta: float) -> None:
    """Move the clock and let the timers fire what is due (escalations), before the next change."""
    clock.advance(**delta)
    await h.nixflow.scheduler.run_due(now=clock.now)
    await h.settle()


async def _patch(h: Harness, user: User, ticket_id: int, **changes: Any) -> None:
    current = await _ok(await h.client.get(f"/api/tickets/{ticket_id}", headers=user.headers))
    body = {"version": current["version"], **changes}
    await _ok(await h.client.patch(f"/api/tickets/{ticket_id}", json=body, headers=user.headers))


async def _history(h: Harness, clock: ManualClock) -> tuple[User, dict[str, int], Any, Any]:
    """A seeded history around a period [since, until): which tickets the outage rule changed is known."""
    admin, agent, requester = await h.user("admin"), await h.user("agent"), await h.user("requester")
    start = clock.now
    ids: dict[str, int] = {}
    ids["before"] = await _open(h, requester, "Storage outage")  # changed by the rule before the period
    await h.settle()
    since = clock.advance(hours=1)
    clock.advance(hours=1)
    ids["mail"] = await _open(h, requester, "Mail server is down")
    ids["printer"] = await _open(h, requester, "Printer jam")
    ids["both"] = await _open(h, requester, "Urgent: network outage")  # urgent rule first, then the outage rule
    ids["already"] = await _open(h, requester, "Outage of the wiki", priority="critical")  # nothing to do
    ids["downtime"] = await _open(h, requester, "Planned downtime")  # not the whole word
    ids["edited"] = await _open(h, requester, "Laptop slow")
    ids["fought"] = await _open(h, requester, "VPN down")
    await h.settle()
    await _advance(h, clock, minutes=30)
    await _patch(h, requester, ids["edited"], title="Laptop down")
    await _advance(h, clock, minutes=30)
    await _patch(h, agent, ids["fought"], priority="high")  # the agent's choice stands: no rule reacts to it
    await _ok(
        await h.client.post(f"/api/tickets/{ids['before']}/comments", json={"body": "looking"}, headers=agent.headers),
        201,
    )
    await h.settle()
    until = clock.advance(hours=8)
    clock.advance(hours=1)
    ids["after"] = await _open(h, requester, "Site down again")
    await h.settle()
    assert start < since < until
    return admin, ids, since, until


async def test_the_outage_rule_simulated_over_history_names_exactly_the_tickets_it_changed(
    timed_harness: Harness, clock: ManualClock
) -> None:
    h = timed_harness
    admin, ids, since, until = await _history(h, clock)
    rule = await _rule(h, admin, OUTAGE_RULE)

    applied = [
        e
        for e in await h.events(type="automation.rule_applied")
        if e["data"]["rule_id"] == rule["id"] and since <= datetime.fromisoformat(e["timestamp"]) < until
    ]
    changed = {int(e["aggregate_id"]) for e in applied}
    assert changed == {ids["mail"], ids["both"], ids["edited"], ids["fought"]}  # what the rule really did
    assert len(applied) == 4  # once per ticket: it does not undo the agent's change of "fought"

    before = await h.nixflow.db.read(_everything)
    result = await _ok(
        await h.client.post(
            "/api/rules/simulate",
            json={"rule": _as_body(rule), "since": since.isoformat(), "until": until.isoformat()},
            headers=admin.headers,
        )
    )
    assert await h.nixflow.db.read(_everything) == before  # not a row written, not an event emitted

    assert result["matched"] == len(changed)
    assert {s["ticket_id"] for s in result["sample"]} == changed
    assert result["actions"]["set_priority"] == len(applied)
    assert result["actions"]["assign"] == result["actions"]["escalate"] == 0
    # printer, already, downtime: evaluated, unmatched; "before" only got a comment, which no condition reads
    assert result["tickets_evaluated"] >= len(changed) + 3
    for sample in result["sample"]:
        # Each time the rule acted, the simulation says it would have, on the same triggering event.
        really = [e for e in applied if int(e["aggregate_id"]) == sample["ticket_id"]]
        assert [w["trigger_event_id"] for w in sample["would"]] == [e["data"]["trigger_event_id"] for e in really]
        assert all(w["action"] == {"type": "set_priority", "value": "critical"} for w in sample["would"])
        assert [d["rule_id"] for d in sample["did"] if d["rule_id"] == rule["id"]] == [rule["id"]] * len(really)


async def test_a_new_rule_is_simulated_once_per_ticket_and_compared_with_what_people_did(
    timed_harness: Harness, clock: ManualClock
) -> None:
    h = timed_harness
    admin, ids, since, until = await _history(h, clock)
    body = {
        "name": "VPN and mail are high",
        "kind": "prioritization",
        "conditions": {"any": [{"field": "text", "op": "contains_word", "value": ["vpn", "mail"]}]},
        "actions": [{"type": "set_priority", "value": "high"}],
    }
    result = await _ok(
        await h.client.post(
            "/api/rules/simulate",
            json={"rule": body, "since": since.isoformat(), "until": until.isoformat()},
            headers=admin.headers,
        )
    )
    samples = {s["ticket_id"]: s for s in result["sample"]}
    assert set(samples) == {ids["mail"], ids["fought"]} and result["matched"] == 2
    # Opened: it would have set high, once in that cycle, so the outage rule's change right after does not make
    # it act again; the agent's own change to high later is not about the text it reads: not evaluated then.
    assert [len(samples[ids["mail"]]["would"]), len(samples[ids["fought"]]["would"])] == [1, 1]
    assert result["actions"]["set_priority"] == 2
    fought = samples[ids["fought"]]["did"]
    assert [d["action"]["value"] for d in fought] == ["critical", "high"]
    assert [d["rule_id"] is None for d in fought] == [False, True]
    assert all(d["actor_id"] is not None for d in fought)
    rules = await _ok(await h.client.get("/api/rules", headers=admin.headers))
    assert body["name"] not in {r["name"] for r in rules}  # simulating a rule does not create it


async def test_an_escalation_rule_is_simulated_at_the_instant_time_made_it_true(
    timed_harness: Harness, clock: ManualClock
) -> None:
    h = timed_harness
    admin, ids, since, until = await _history(h, clock)
    rule = await _rule(h, admin, "critical: unassigned 15 min is level 1")
    escalated = [
        e
        for e in await h.events(type="ticket.escalated")
        if e["data"]["rule_id"] == rule["id"] and since <= datetime.fromisoformat(e["timestamp"]) < until
    ]
    really = {int(e["aggregate_id"]) for e in escalated}
    assert really == {ids[k] for k in ("before", "mail", "both", "already", "edited", "fought")}
    body = {"rule": _as_body(rule), "since": since.isoformat(), "until": until.isoformat()}
    result = await _ok(await h.client.post("/api/rules/simulate", json=body, headers=admin.headers))
    assert {s["ticket_id"] for s in result["sample"]} == really and result["matched"] == len(really)
    assert result["actions"]["escalate"] == result["actions"]["notify"] == len(escalated)
    for sample in result["sample"]:
        [would, _] = sample["would"]
        assert would["action"] == {"type": "escalate", "level": 1} and would["trigger_event_id"] is None
        real = next(e for e in escalated if int(e["aggregate_id"]) == sample["ticket_id"])
        # Time made it true no later than the timer noticed (the timers run when the clock is moved).
        assert datetime.fromisoformat(would["at"]) <= datetime.fromisoformat(real["timestamp"])


async def test_bad_simulations_are_refused(harness: Harness) -> None:
    admin, agent, requester = await harness.user("admin"), await harness.user("agent"), await harness.user("requester")
    rule = {
        "name": "x",
        "kind": "prioritization",
        "conditions": {"any": [{"field": "text", "op": "contains_word", "value": "x"}]},
        "actions": [{"type": "set_priority", "value": "high"}],
    }
    period = {"since": "2030-01-01T00:00:00Z", "until": "2030-02-01T00:00:00Z"}
    for user, status in ((agent, 403), (requester, 403)):
        response = await harness.client.post("/api/rules/simulate", json={"rule": rule, **period}, headers=user.headers)
        assert response.status_code == status, response.text
    bad_bodies = [
        {"rule": rule, "since": "2030-01-01T00:00:00", "until": period["until"]},
        {"rule": rule, "since": 1893456000, "until": period["until"]},
        {"rule": {**rule, "conditions": {"any": [{"field": "text", "op": "sounds_like", "value": "x"}]}}, **period},
        {"rule": {**rule, "actions": [{"type": "reboot"}]}, **period},
        {"rule": rule, **period, "dry": True},
    ]
    for body in bad_bodies:
        response = await harness.client.post("/api/rules/simulate", json=body, headers=admin.headers)
        assert response.status_code == 422, (body, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
    named = await harness.client.post("/api/rules/simulate", json=bad_bodies[2], headers=admin.headers)
    assert "sounds_like" in named.text
    ticket = await harness.client.post("/api/tickets", json={"title": "x marks it"}, headers=requester.headers)
    assert ticket.status_code == 201
    since = datetime.fromisoformat(ticket.json()["created_at"])
    # A period that holds nothing (until not after since) simulates nothing; the ticket is found in a real one.
    for start, end in ((since, since), (since + timedelta(hours=1), since - timedelta(hours=1))):
        body = {"rule": rule, "since": start.isoformat(), "until": end.isoformat()}
        empty = await _ok(await harness.client.post("/api/rules/simulate", json=body, headers=admin.headers))
        assert empty["matched"] == 0 and empty["sample"] == [] and empty["actions"]["set_priority"] == 0
    body = {"rule": rule, "since": since.isoformat(), "until": (since + timedelta(seconds=1)).isoformat()}
    found = await _ok(await harness.client.post("/api/rules/simulate", json=body, headers=admin.headers))
    assert found["matched"] == 1 and found["sample"][0]["ticket_id"] == ticket.json()["id"]
