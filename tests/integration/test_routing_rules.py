"""Rules that route, in both modes: mail from a domain lands in its category and goes round robin within it; the
channel condition; a rule's reply reaching the requester's mailbox once (not again on replay); a person's
category change that no rule reacting to it undoes; bad routing rules refused; the simulation counting them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from tests import mail_corpus as corpus
from tests.conftest import Harness, ManualClock, User, mailing, start
from tests.integration.test_status_on_reply import _web as browser_headers
from tests.mail_marker import mail_before_a_marker
from tests.smtp_server import SmtpServer, addressed

from nixflow.config import Settings
from nixflow.email_in import intake
from nixflow.email_in.parse import parse


@pytest.fixture
async def desk(settings: Settings, smtp: SmtpServer) -> AsyncIterator[Harness]:
    async for h in start(mailing(settings, smtp, delay=0.5)):
        yield h


async def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def _quiet(h: Harness, admin: User) -> None:
    for rule in await _ok(await h.client.get("/api/rules", headers=admin.headers)):
        await h.client.patch(f"/api/rules/{rule['id']}", json={"active": False}, headers=admin.headers)


async def _rule(h: Harness, admin: User, **rule: Any) -> dict[str, Any]:
    body = {"kind": "assignment", **rule}
    return dict(await _ok(await h.client.post("/api/rules", json=body, headers=admin.headers), 201))


async def _only_rule(h: Harness, **rule: Any) -> tuple[User, dict[str, Any]]:
    """An admin, and this rule the only active one."""
    admin = await h.user("admin")
    await _quiet(h, admin)
    return admin, await _rule(h, admin, **rule)


async def _category(h: Harness, admin: User, name: str, agent_ids: list[int]) -> int:
    made = await h.client.post("/api/categories", json={"name": name, "agent_ids": agent_ids}, headers=admin.headers)
    return int((await _ok(made, 201))["id"])


async def _mail_in(h: Harness, sender: str, subject: str, message_id: str) -> int:
    config = intake.config_from(h.nixflow.settings)
    raw = corpus.plain(sender=sender, subject=subject, message_id=message_id)
    outcome = await intake.deliver(h.nixflow.writer, parse(raw, own_domain=config.domain), config)
    await h.settle()
    assert outcome.ticket_id is not None, outcome
    return outcome.ticket_id


async def _ticket(h: Harness, user: User, ticket_id: int) -> dict[str, Any]:
    return dict(await _ok(await h.client.get(f"/api/tickets/{ticket_id}", headers=user.headers)))


ACME_TO_NETWORK = {
    "name": "acme goes to Network",
    "conditions": {"all": [{"field": "sender_domain", "op": "equals", "value": "ACME.example"}]},
}


async def test_mail_from_a_domain_lands_in_its_category_and_goes_round_robin_within_it(desk: Harness) -> None:
    h = desk
    admin = await h.user("admin")
    await _quiet(h, admin)
    first, second = await h.user("agent"), await h.user("agent")
    other = await h.user("agent")
    network = await _category(h, admin, "Network", [first.id, second.id])
    await _category(h, admin, "Billing", [other.id])
    rule = await _rule(
        h,
        admin,
        **ACME_TO_NETWORK,
        actions=[{"type": "set_category", "category_id": network}, {"type": "assign_round_robin"}],
    )
    assert rule["conditions"]["all"][0]["value"] == "acme.example"  # stored in lower case
    one = await _mail_in(h, "Ann <ann@acme.example>", "VPN down", "<a1@acme.example>")
    two = await _mail_in(h, "Bob <bob@ACME.example>", "Router", "<a2@acme.example>")
    stranger = await _mail_in(h, "Cy <cy@elsewhere.example>", "Hello", "<c1@elsewhere.example>")
    routed = [await _ticket(h, admin, t) for t in (one, two)]
    assert [t["category_id"] for t in routed] == [network, network]
    assert {t["assignee_id"] for t in routed} == {first.id, second.id}  # round robin within Network
    assert all(t["channel"] == "mail" for t in routed)
    left = await _ticket(h, admin, stranger)
    assert left["category_id"] is None and left["assignee_id"] is None
    [changed] = await h.events(type="ticket.category_changed", aggregate_id=str(one))
    assert changed["metadata"]["rule_id"] == rule["id"]


async def test_the_channel_condition_tells_mail_from_the_api(desk: Harness) -> None:
    h = desk
    requester = await h.user("requester")
    admin, _ = await _only_rule(
        h,
        name="mail is triaged",
        kind="prioritization",
        conditions={"all": [{"field": "channel", "op": "equals", "value": "mail"}]},
        actions=[{"type": "add_tag", "value": "triage"}, {"type": "set_status", "value": "open"}],
    )
    by_mail = await _mail_in(h, "Dee <dee@customer.test>", "Mail me", "<d1@customer.test>")
    by_api = await _ok(await h.client.post("/api/tickets", json={"title": "API"}, headers=requester.headers), 201)
    in_browser = await browser_headers(h, requester)
    by_web = await _ok(await h.client.post("/api/tickets", json={"title": "Web"}, headers=in_browser), 201)
    await h.settle()
    mailed, api, web = [await _ticket(h, admin, t) for t in (by_mail, by_api["id"], by_web["id"])]
    assert (mailed["tags"], mailed["status"], mailed["channel"]) == (["triage"], "open", "mail")
    assert (api["tags"], api["status"], api["channel"]) == ([], "new", "api")
    assert (web["tags"], web["status"], web["channel"]) == ([], "new", "web")


async def test_a_rules_reply_reaches_the_requester_once_even_on_replay(desk: Harness, smtp: SmtpServer) -> None:
    h = desk
    text = "Thanks, we got your mail about the network."
    admin, rule = await _only_rule(
        h,
        name="acknowledge acme",
        kind="prioritization",
        conditions={"all": [{"field": "sender", "op": "in", "value": ["Eve@acme.example"]}]},
        actions=[{"type": "send_reply", "text": text}],
    )
    ticket_id = await _mail_in(h, "Eve <eve@acme.example>", "Switch dead", "<e1@acme.example>")
    comments = await _ok(await h.client.get(f"/api/tickets/{ticket_id}/comments", headers=admin.headers))
    [reply] = [c for c in comments if c["body"] == text]
    assert reply["internal"] is False
    [commented] = await h.events(type="ticket.commented", aggregate_id=str(ticket_id))
    assert commented["metadata"]["rule_name"] == rule["name"] and commented["metadata"]["rule_id"] == rule["id"]
    [mail] = await asyncio.to_thread(smtp.inbox.wait_for, 1, address="eve@acme.example", timeout=20)
    assert text in str(mail.get_body(preferencelist=("plain",)).get_content())
    [created] = await h.events(type="ticket.created", aggregate_id=str(ticket_id))
    replayed = await h.client.post(f"/api/events/{created['event_id']}/replay", headers=admin.headers)
    assert replayed.status_code == 202, replayed.text
    await h.settle()
    assert len(await h.events(type="ticket.commented", aggregate_id=str(ticket_id))) == 1
    everything = await mail_before_a_marker(h, smtp)  # all mail so far, once a later marker is in
    assert len(addressed(everything, "eve@acme.example")) == 1


async def test_a_persons_category_change_is_not_undone_by_a_rule_reacting_to_it(
    harness: Harness, admin: User, agent: User, requester: User
) -> None:
    h = harness
    await _quiet(h, admin)
    network = await _category(h, admin, "Network", [])
    billing = await _category(h, admin, "Billing", [])
    await _rule(
        h,
        admin,
        name="everything is Network",
        kind="prioritization",
        conditions={"all": [{"field": "category_id", "op": "not_equals", "value": network}]},
        actions=[{"type": "set_category", "category_id": network}],
    )
    opened = await _ok(await h.client.post("/api/tickets", json={"title": "Bill"}, headers=requester.headers), 201)
    await h.settle()
    ticket = await _ticket(h, agent, opened["id"])
    assert ticket["category_id"] == network  # the creation: the rule sets it
    change = {"category_id": billing, "version": ticket["version"]}
    await _ok(await h.client.patch(f"/api/tickets/{opened['id']}", json=change, headers=agent.headers))
    await h.settle()
    assert (await _ticket(h, agent, opened["id"]))["category_id"] == billing  # the agent's change stands


async def test_bad_routing_rules_are_refused_and_change_nothing(harness: Harness, admin: User) -> None:
    h = harness
    before = await _ok(await h.client.get("/api/rules", headers=admin.headers))
    bad_rules = [
        ({"type": "send_reply"}, None, "needs 'text'"),
        ({"type": "send_reply", "text": "  "}, None, "text"),
        ({"type": "set_category"}, None, "needs 'category_id'"),
        ({"type": "set_status", "value": "done"}, None, "value"),
        ({"type": "add_tag", "value": "x"}, {"field": "channel", "op": "equals", "value": "fax"}, "channel"),
        ({"type": "add_tag", "value": "x"}, {"field": "sender_domain", "op": "contains", "value": "a"}, "contains"),
    ]
    for action, condition, named in bad_rules:
        body = {"name": "bad", "kind": "prioritization", "actions": [action]}
        if condition is not None:
            body["conditions"] = {"all": [condition]}
        refused = await h.client.post("/api/rules", json=body, headers=admin.headers)
        assert refused.status_code == 422 and named in refused.text, (body, refused.text)
    assert await _ok(await h.client.get("/api/rules", headers=admin.headers)) == before


async def test_the_simulation_counts_routing_actions_and_writes_nothing(
    harness: Harness, admin: User, agent: User
) -> None:
    h = harness
    await _quiet(h, admin)
    network = await _category(h, admin, "Network", [])
    acme = await h.user("requester", email="fay@acme.example")
    since = datetime.now(UTC) - timedelta(minutes=1)
    routed = await _ok(await h.client.post("/api/tickets", json={"title": "Link"}, headers=acme.headers), 201)
    await _ok(await h.client.post("/api/tickets", json={"title": "Other"}, headers=agent.headers), 201)
    await h.settle()
    window = {"since": since.isoformat(), "until": (datetime.now(UTC) + timedelta(minutes=1)).isoformat()}
    rule = {
        "kind": "assignment",
        **ACME_TO_NETWORK,
        "actions": [{"type": "set_category", "category_id": network}, {"type": "send_reply", "text": "Hi"}],
    }
    simulated = await _ok(
        await h.client.post("/api/rules/simulate", json={"rule": rule, **window}, headers=admin.headers)
    )
    assert simulated["matched"] == 1 and [s["ticket_id"] for s in simulated["sample"]] == [routed["id"]]
    assert simulated["actions"]["set_category"] == 1 and simulated["actions"]["send_reply"] == 1
    assert (await _ticket(h, admin, routed["id"]))["category_id"] is None


async def test_an_escalation_on_the_sender_domain_fires_in_time(timed_harness: Harness, clock: ManualClock) -> None:
    h = timed_harness
    admin, _ = await _only_rule(
        h,
        name="acme waits 30 minutes at most",
        kind="escalation",
        conditions={
            "all": [
                {"field": "sender_domain", "op": "equals", "value": "acme.example"},
                {"field": "minutes_unassigned", "op": "gte", "value": 30},
            ]
        },
        actions=[{"type": "escalate", "level": 1}],
    )
    start = clock.now
    acme, other = await h.user("requester", email="gil@acme.example"), await h.user("requester")
    opened = [
        (await _ok(await h.client.post("/api/tickets", json={"title": "Down"}, headers=who.headers), 201))["id"]
        for who in (acme, other)
    ]
    await h.settle()
    clock.now = start + timedelta(minutes=31)
    await h.nixflow.scheduler.run_due(now=clock.now)
    await h.settle()
    levels = [(await _ticket(h, admin, t))["escalation_level"] for t in opened]
    assert levels == [1, 0]
