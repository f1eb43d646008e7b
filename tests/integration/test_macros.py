"""Canned replies and macros, in both modes: who sees which (scopes), templates refused when saved, a reply
rendered for a ticket, and a macro applied as one unit of work caused by `macro.applied` (or not at all)."""

from __future__ import annotations

from typing import Any

from tests.conftest import Harness, User

from nixflow.domain.envelope import EventContext
from nixflow.ids import uuid7
from nixflow.services import macros
from nixflow.services.users import SYSTEM

GREETING = "Hello {{ requester.name }}, about #{{ ticket.id }} ({{ ticket.title }}): {{ agent.name }} is on it."


async def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def _category(h: Harness, admin: User, name: str) -> int:
    return int(
        (await _ok(await h.client.post("/api/categories", json={"name": name}, headers=admin.headers), 201))["id"]
    )


async def _make(h: Harness, user: User, kind: str, code: int = 201, **body: Any) -> Any:
    return await _ok(await h.client.post(f"/api/{kind}", json=body, headers=user.headers), code)


async def _names(h: Harness, user: User, kind: str, q: str = "") -> list[str]:
    return [r["name"] for r in await _ok(await h.client.get(f"/api/{kind}?q={q}", headers=user.headers))]


async def test_each_agent_sees_their_own_their_teams_and_everyones(harness: Harness, admin: User) -> None:
    h = harness
    network, billing = await _category(h, admin, "Network"), await _category(h, admin, "Billing")
    ann = await h.user("agent", name="Ann", category_ids=[network])
    bob = await h.user("agent", name="Bob")
    await _make(h, admin, "replies", name="Welcome", scope="everyone", body="Hi")
    await _make(h, admin, "replies", name="VPN reset", scope="team", category_id=network, body="Reset it")
    await _make(h, admin, "replies", name="Refund", scope="team", category_id=billing, body="Refunded")
    mine = await _make(h, ann, "replies", name="Ann's sign-off", body="Cheers, {{ agent.name }}")
    bobs = await _make(h, bob, "replies", name="Bob's sign-off", body="Bye")
    assert await _names(h, ann, "replies") == ["Ann's sign-off", "VPN reset", "Welcome"]
    assert await _names(h, bob, "replies") == ["Bob's sign-off", "Welcome"]
    assert await _names(h, admin, "replies") == ["Refund", "VPN reset", "Welcome"]  # not the agents' own
    # The picker: names starting with the letters first, then containing them.
    assert await _names(h, ann, "replies", q="SIGN") == ["Ann's sign-off"]
    await _make(h, admin, "replies", name="Resetting passwords", scope="everyone", body="x")
    assert await _names(h, ann, "replies", q="re") == ["Resetting passwords", "VPN reset"]
    # Another's personal one does not exist for you; a shared one you may use but not change.
    assert (await h.client.get(f"/api/replies/{bobs['id']}", headers=ann.headers)).status_code == 404
    assert (await h.client.delete(f"/api/replies/{bobs['id']}", headers=admin.headers)).status_code == 404
    [welcome] = [
        r for r in await _ok(await h.client.get("/api/replies", headers=ann.headers)) if r["scope"] == "everyone"
    ][:1]
    edit = {"name": "Mine now", "scope": "everyone", "body": "x"}
    assert (await h.client.put(f"/api/replies/{welcome['id']}", json=edit, headers=ann.headers)).status_code == 403
    assert (await h.client.delete(f"/api/replies/{welcome['id']}", headers=ann.headers)).status_code == 403
    # Agents keep personal ones: a shared one is the admins' to make (like Zendesk's shared macros).
    await _make(h, ann, "replies", code=403, name="Team", scope="team", category_id=network, body="x")
    changed = await _ok(
        await h.client.put(f"/api/replies/{mine['id']}", json={"name": "Sign-off", "body": "Ta"}, headers=ann.headers)
    )
    assert changed["body"] == "Ta" and changed["scope"] == "personal"
    requester = await h.user("requester")
    assert (await h.client.get("/api/replies", headers=requester.headers)).status_code == 403
    assert (await h.client.get("/api/macros", headers=requester.headers)).status_code == 403


async def test_a_template_reaching_past_the_allow_list_is_refused_when_saved(harness: Harness, agent: User) -> None:
    h = harness
    refused = {
        "{{ ticket.__class__ }}": "'ticket.__class__' is not a variable you may use",
        "{% for c in ticket.title %}{{ c }}{% endfor %}": "{% for %} is not allowed",
        "{% include 'base.html' %}": "{% include %} is not allowed",
        "{{ requester.name|attr('x') }}": "the filter 'attr' is not allowed",
        "{{ requester.password_hash }}": "'requester.password_hash' is not a variable you may use",
        "{{ ticket.title": "line 1:",
    }
    for body, problem in refused.items():
        for kind in ("replies", "macros"):
            answer = await _make(h, agent, kind, code=422, name="Bad", body=body)
            assert problem in answer["detail"], answer
            assert answer["errors"][0]["loc"] == ["body", "body"]
    assert await _names(h, agent, "replies") == [] and await _names(h, agent, "macros") == []
    assert await h.events(type="macro.created") == []


async def test_an_id_past_what_the_database_holds_is_a_422_not_a_500(harness: Harness, agent: User) -> None:
    """Found by schemathesis: a category id of 2**66 reached the database (and a 500) through PUT /api/macros."""
    h = harness
    huge = 2**66
    for kind, body in (
        ("replies", {"name": "Big", "scope": "team", "category_id": huge, "body": "Hi"}),
        ("macros", {"name": "Big", "scope": "team", "category_id": huge}),
        ("macros", {"name": "Big", "actions": {"category_id": huge}}),
        ("macros", {"name": "Big", "actions": {"assignee_id": huge}}),
    ):
        await _make(h, agent, kind, code=422, **body)
    made = await _make(h, agent, "macros", name="Small", actions={"priority": "high"})
    put = await h.client.put(
        f"/api/macros/{made['id']}", json={"name": "Small", "category_id": huge}, headers=agent.headers
    )
    assert put.status_code == 422, put.text
    assert await _names(h, agent, "replies") == [] and await _names(h, agent, "macros") == ["Small"]


async def _ticket(h: Harness, requester: User, title: str = "VPN drops") -> dict[str, Any]:
    return dict(await _ok(await h.client.post("/api/tickets", json={"title": title}, headers=requester.headers), 201))


async def test_a_reply_is_rendered_for_the_ticket(harness: Harness, admin: User) -> None:
    h = harness
    agent = await h.user("agent", name="Ann Agent")
    requester = await h.user("requester", name="Rita Requester")
    ticket = await _ticket(h, requester)
    reply = await _make(h, admin, "replies", name="Greeting", scope="everyone", body=GREETING)
    rendered = await _ok(
        await h.client.post(f"/api/tickets/{ticket['id']}/replies/{reply['id']}/render", headers=agent.headers)
    )
    assert rendered["body"] == f"Hello Rita Requester, about #{ticket['id']} (VPN drops): Ann Agent is on it."


async def _macro(h: Harness, admin: User, agent_id: int) -> dict[str, Any]:
    actions = {"status": "pending", "priority": "high", "assignee_id": agent_id, "add_tags": ["VPN"]}
    return dict(await _make(h, admin, "macros", name="VPN: ask", scope="everyone", body=GREETING, actions=actions))


async def _state(h: Harness, agent: User, ticket_id: int) -> tuple[Any, Any, Any]:
    base = f"/api/tickets/{ticket_id}"
    ticket = await _ok(await h.client.get(base, headers=agent.headers))
    return ticket, await _ok(await h.client.get(f"{base}/comments", headers=agent.headers)), await h.events()


async def test_preview_then_apply_is_one_unit_of_work_caused_by_macro_applied(harness: Harness, admin: User) -> None:
    h = harness
    agent = await h.user("agent", name="Ann Agent")
    requester = await h.user("requester", name="Rita Requester")
    ticket = await _ticket(h, requester)
    macro = await _macro(h, admin, agent.id)
    assert macro["actions"]["add_tags"] == ["vpn"]
    before = await _state(h, agent, ticket["id"])
    base = f"/api/tickets/{ticket['id']}/macros/{macro['id']}"
    preview = await _ok(await h.client.post(f"{base}/preview", headers=agent.headers))
    assert preview["reply"] == {
        "body": f"Hello Rita Requester, about #{ticket['id']} (VPN drops): Ann Agent is on it.",
        "internal": False,
    }
    assert preview["changes"] == {
        "priority": {"old": "normal", "new": "high"},
        "assignee_id": {"old": None, "new": agent.id},
        "status": {"old": "new", "new": "pending"},
        "add_tags": ["vpn"],
    }
    assert await _state(h, agent, ticket["id"]) == before  # a preview stores nothing
    answer = await _ok(
        await h.client.post(f"{base}/apply", json={"version": preview["version"]}, headers=agent.headers)
    )
    shown = answer["ticket"]
    assert (shown["status"], shown["priority"], shown["assignee_id"], shown["tags"]) == (
        "pending",
        "high",
        agent.id,
        ["vpn"],
    )
    assert answer["comment"]["body"].startswith("Hello Rita Requester,")
    await h.settle()
    [applied] = await h.events(type="macro.applied")
    assert applied["data"] == {"ticket_id": ticket["id"], "macro_id": macro["id"], "name": "VPN: ask"}
    unit = [e for e in await h.events() if e["metadata"]["correlation_id"] == applied["metadata"]["correlation_id"]]
    direct = {e["type"] for e in unit if e["metadata"]["causation_id"] == applied["event_id"]}
    assert {
        "ticket.commented",
        "ticket.priority_changed",
        "ticket.assigned",
        "ticket.tagged",
        "ticket.status_changed",
    } <= direct
    by_id = {e["event_id"]: e for e in unit}
    for event in unit:  # everything else of the unit follows from macro.applied (the reply opening the ticket, rules)
        cause = event
        while cause["event_id"] != applied["event_id"]:
            cause = by_id[cause["metadata"]["causation_id"]]
    # Requesters see the reply, never the macro behind it.
    timeline = await _ok(await h.client.get(f"/api/tickets/{ticket['id']}/events", headers=requester.headers))
    assert "macro.applied" not in {e["type"] for e in timeline} and "ticket.commented" in {e["type"] for e in timeline}


async def test_a_refused_change_stores_nothing(harness: Harness, admin: User, agent: User, requester: User) -> None:
    h = harness
    ticket = await _ticket(h, requester)
    macro = await _macro(h, admin, agent.id)
    apply = f"/api/tickets/{ticket['id']}/macros/{macro['id']}/apply"
    before = await _state(h, agent, ticket["id"])
    stale = await h.client.post(apply, json={"version": ticket["version"] + 1}, headers=agent.headers)
    assert stale.status_code == 409, stale.text
    assert await _state(h, agent, ticket["id"]) == before
    # The admins allow other tags after the macro was saved: its tag now fails, and with it the whole macro.
    await _ok(await h.client.put("/api/tags/allowed", json={"tags": ["printer"]}, headers=admin.headers))
    before = await _state(h, agent, ticket["id"])
    refused = await h.client.post(apply, headers=agent.headers)
    assert refused.status_code == 422 and "vpn" in refused.text, refused.text
    assert await _state(h, agent, ticket["id"]) == before
    assert await h.events(type="macro.applied") == []
    # Nor may a macro be saved with a tag off the list.
    await _make(h, admin, "macros", code=422, name="Bad tag", scope="everyone", actions={"add_tags": ["vpn"]})


async def test_a_rule_applying_a_macro_acts_as_that_rule(harness: Harness, admin: User, requester: User) -> None:
    """How the routing engineer's `apply_macro` action calls it: as NixFlow, in the rule's context."""
    h = harness
    ticket = await _ticket(h, requester)
    macro = await _make(h, admin, "macros", name="Bump", scope="everyone", actions={"priority": "critical"})
    rule = EventContext(correlation_id=uuid7(), actor_id=SYSTEM.id, source="automation", rule_id=41, rule_name="VIP")
    await h.nixflow.writer.run(
        lambda tx: macros.apply_macro(tx, actor=SYSTEM, ticket_id=ticket["id"], macro_id=macro["id"]), rule
    )
    [changed] = await h.events(type="ticket.priority_changed")
    assert changed["data"]["new_priority"] == "critical"
    assert (changed["metadata"]["rule_id"], changed["metadata"]["rule_name"]) == (41, "VIP")
